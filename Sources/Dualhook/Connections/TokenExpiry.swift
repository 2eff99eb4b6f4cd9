import Foundation
import HTTPServer
import JobQueue
import Postgres

/// The `token-expiry` sweep, for tokens the code exchange gave an `expires_in`: 7 days before
/// `tokenExpiresAt` the account gets `connection.token_expiring` (once per token), and a
/// connection whose token has expired is disconnected with `token_expired` (Meta no longer
/// accepts it, so there is nothing to unsubscribe with).
public struct TokenExpiry: JobKind {
    public struct Args: Codable, Sendable {}
    public static let kind = "sweep.token_expiry"
    public static let queue = "maintenance"
    public static let timeout: TimeInterval = 120
    public static let retryPolicy = RetryPolicy.fixed([60, 300])
    static let notice: TimeInterval = 7 * 86_400

    public init() {}

    public func perform(_ args: Args, context: JobContext) throws {
        let warned = try context.inBatches(of: 500) {
            try context.database.transaction { tx in
                let rows = try tx.query("""
                    UPDATE connections c SET token_expiring_notified_at = now()
                    FROM (SELECT id FROM connections
                          WHERE status = 'active' AND token_expires_at IS NOT NULL AND token_expiring_notified_at IS NULL
                            AND token_expires_at > now() AND token_expires_at <= now() + make_interval(secs => $1)
                          ORDER BY token_expires_at LIMIT 500 FOR UPDATE SKIP LOCKED) due
                    WHERE c.id = due.id
                    RETURNING c.id, c.account_id, c.tenant_id, c.session_id, c.waba_id, c.phone_number_id, c.token_expires_at,
                              (SELECT s.metadata::text FROM onboarding_sessions s WHERE s.id = c.session_id)
                    """, [TokenExpiry.notice]).rows
                for row in rows {
                    let data = Outbox.data([
                        "tenantId": try row.decode(String.self, at: 2), "sessionId": try row.decode(String?.self, at: 3),
                        "connectionId": try row.decode(String.self, at: 0), "wabaId": try row.decode(String.self, at: 4),
                        "phoneNumberId": try row.decode(String.self, at: 5),
                        "tokenExpiresAt": Response.timestamp(try row.decode(Date.self, at: 6)),
                    ], metadataJSON: try row.decode(String?.self, at: 7) ?? "{}")
                    try Outbox.emit(type: "connection.token_expiring", accountID: try row.decode(at: 1), dataJSON: data, on: tx)
                }
                return rows.count
            }
        }
        let expired = try context.database.withConnection { connection -> Int in
            let ids = try connection.query("""
                SELECT id FROM connections WHERE status = 'active' AND token_expires_at <= now() ORDER BY token_expires_at LIMIT 5000
                """).rows.map { try $0.decode(String.self, at: 0) }
            for id in ids { try Disconnect.enqueue(id, reason: "token_expired", unsubscribe: false, on: connection) }
            return ids.count
        }
        if warned + expired > 0 { context.logger.info("token expiry", ["expiring": warned, "expired": expired]) }
    }

    /// Hourly.
    public static func periodic() -> PeriodicJob {
        PeriodicJob.sweep(TokenExpiry.self, name: "token-expiry", every: 3600, args: Args())
    }
}
