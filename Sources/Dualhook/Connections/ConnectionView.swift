import Foundation
import Postgres

/// A connection as the API shows it: never its token, its verify token or its PIN.
enum ConnectionView {

    static let columns = """
        c.id, c.tenant_id, c.waba_id, c.phone_number_id, c.display_phone_number, c.verified_name, c.status,
        c.connection_mode, c.webhook_override_url, c.health_status, c.quality_rating, c.messaging_limit_tier,
        c.health_checked_at, COALESCE(c.heartbeat_confirmed_at, c.created_at), c.created_at, c.disconnect_reason,
        c.disconnected_at, w.status, w.error, w.requested_at, c.webhook_scope, c.routing_effective_url, c.routing_checked_at,
        c.token_expires_at, c.messaging_limit, c.health_issues::text
        """
    /// `FROM` for `columns`: the connection and the latest webhook request of what routes it
    /// (its WABA, or its own number with per-number routing).
    static let from = """
        connections c LEFT JOIN webhook_updates w
            ON w.target = CASE WHEN c.webhook_scope = 'phone_number' THEN c.phone_number_id ELSE c.waba_id END
        """

    static func object(_ row: Row, now: Date = Date()) throws -> [String: Any?] {
        let mode: String = try row.decode(at: 7)
        let confirmed: Date = try row.decode(at: 13)
        let due = confirmed.addingTimeInterval(Heartbeat.period)
        let heartbeatStatus = now >= due ? "overdue" : now >= due.addingTimeInterval(-Heartbeat.defaultWarning) ? "due_soon" : "ok"
        // A live Coexistence number's: a suspended or disconnected one has no app use to confirm
        // (no reminder goes for it either).
        let status: String = try row.decode(at: 6)
        let applies = mode == ConnectionMode.coexistence.rawValue && status == ConnectionStatus.active.rawValue
        let health: [String: Any?] = [
            "status": try row.decode(String?.self, at: 9), "qualityRating": try row.decode(String?.self, at: 10),
            "messagingLimitTier": try row.decode(String?.self, at: 11), "checkedAt": try row.decode(Date?.self, at: 12),
            "messagingLimit": try row.decode(String?.self, at: 24),
            "issues": try JSONSerialization.jsonObject(with: Data(try row.decode(String.self, at: 25).utf8)),
        ]
        let heartbeat: [String: Any?] = [
            "applies": applies, "status": applies ? heartbeatStatus : nil,
            "dueAt": applies ? due : nil, "confirmedAt": applies ? confirmed : nil,
        ]
        var webhookUpdate: [String: Any?]?
        if let status = try row.decode(String?.self, at: 17) {
            webhookUpdate = ["status": status, "error": try row.decode(String?.self, at: 18), "requestedAt": try row.decode(Date?.self, at: 19)]
        }
        let url: String = try row.decode(at: 8)
        var routing: [String: Any?]?
        if let checked = try row.decode(Date?.self, at: 22) {
            let effective = try row.decode(String?.self, at: 21)
            // Meta would deliver somewhere other than the connection's URL: a number's leftover
            // override, another WABA override, or only the app's callback.
            routing = ["effectiveUrl": effective, "shadowed": effective != url, "checkedAt": checked]
        }
        return [
            "connectionId": try row.decode(String.self, at: 0), "tenantId": try row.decode(String.self, at: 1),
            "wabaId": try row.decode(String.self, at: 2), "phoneNumberId": try row.decode(String.self, at: 3),
            "displayPhoneNumber": try row.decode(String?.self, at: 4), "verifiedName": try row.decode(String?.self, at: 5),
            "status": try row.decode(String.self, at: 6), "connectionMode": mode,
            "webhookOverrideUrl": url, "webhookScope": try row.decode(String.self, at: 20), "routing": routing,
            "tokenExpiresAt": try row.decode(Date?.self, at: 23), "health": health, "heartbeat": heartbeat,
            "createdAt": try row.decode(Date.self, at: 14), "disconnectReason": try row.decode(String?.self, at: 15),
            "disconnectedAt": try row.decode(Date?.self, at: 16), "webhookUpdate": webhookUpdate,
        ]
    }

    /// The account's connection, or 404 (another account's id is not found either).
    static func find(_ id: String, accountID: String, on connection: Connection) throws -> [String: Any?] {
        guard let row = try connection.sql("SELECT \(unescaped: columns) FROM \(unescaped: from) WHERE c.id = \(id) AND c.account_id = \(accountID)").first else {
            throw APIError.notFound("connection \(id)")
        }
        return try object(row)
    }
}
