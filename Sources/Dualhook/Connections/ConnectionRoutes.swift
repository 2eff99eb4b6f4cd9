import Crypto
import Foundation
import HTTPServer
import JobQueue
import Postgres

/// `GET /api/v1/connections`, `GET|PATCH|DELETE /api/v1/connections/{id}`. PATCH and DELETE
/// answer 202 and leave the work (Meta first, then the database) to a job.
enum ConnectionRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        router.add("GET", "/api/v1/connections", RouteEntry(.api, query: ["limit", "cursor", "tenantId", "wabaId", "phoneNumberId", "status"], list))
        router.add("GET", "/api/v1/connections/{id}", RouteEntry(.api, get))
        router.add("PATCH", "/api/v1/connections/{id}", RouteEntry(.api, patch))
        router.add("DELETE", "/api/v1/connections/{id}", RouteEntry(.api, delete))
    }

    static let statuses = ConnectionStatus.allCases.map(\.rawValue)

    static func list(_ context: APIContext) throws -> Response {
        let query = context.request.query
        let page = try Pagination(query: query)
        if let status = query["status"], !statuses.contains(status) {
            throw APIError.validationFailed(param: "status", "status must be active, suspended or disconnected")
        }
        for name in ["tenantId", "wabaId", "phoneNumberId"] {
            if let value = query[name], value.isEmpty || value.count > 128 {
                throw APIError.validationFailed(param: name, "\(name) must be 1 to 128 characters")
            }
        }
        var filter = SQLFilter()
        filter.add("c.account_id = \(context.account.accountID)")
        filter.add(ifGiven: query["tenantId"]) { "c.tenant_id = \($0)" }
        filter.add(ifGiven: query["wabaId"]) { "c.waba_id = \($0)" }
        filter.add(ifGiven: query["phoneNumberId"]) { "c.phone_number_id = \($0)" }
        filter.add(ifGiven: query["status"]) { "c.status = \($0)" }
        filter.after(page, createdAt: "c.created_at", id: "c.id")
        let rows = try context.connection.sql("""
            SELECT \(unescaped: ConnectionView.columns) FROM \(unescaped: ConnectionView.from)
            WHERE \(filter.sql) ORDER BY c.created_at DESC, c.id DESC LIMIT \(page.limit + 1)
            """).rows
        let items = try rows.prefix(page.limit).map { try ConnectionView.object($0) }
        var next: String?
        if rows.count > page.limit, let last = rows.prefix(page.limit).last {
            next = Pagination.cursor(createdAt: try last.decode(Date.self, at: 14), id: try last.decode(String.self, at: 0))
        }
        return JSONResponse.make(200, ["data": items, "nextCursor": next])
    }

    static func get(_ context: APIContext) throws -> Response {
        JSONResponse.make(200, try ConnectionView.find(context.request.parameters["id"] ?? "", accountID: context.account.accountID,
                                                       on: context.connection))
    }

    /// Records the requested configuration for the connection's WABA (a new version) and queues
    /// the job that sets it at Meta and then on every sibling. Either field may be left out: the
    /// one last asked for stands in for it (Meta takes both in one call).
    static func patch(_ context: APIContext) throws -> Response {
        let body = try JSONObject(body: context.request.body)
        try body.rejectUnknown(allowed: ["webhookOverrideUrl", "webhookVerifyToken"])
        let url = try body.string("webhookOverrideUrl")
        let token = try body.string("webhookVerifyToken", length: 1...128)
        guard url != nil || token != nil else {
            throw APIError.validationFailed(param: "webhookOverrideUrl", "webhookOverrideUrl or webhookVerifyToken is required")
        }
        let id = context.request.parameters["id"] ?? ""
        let (waba, version) = try requestWebhookChange(id, accountID: context.account.accountID, url: url, verifyToken: token,
                                                       configuration: context.configuration, on: context.connection)
        return JSONResponse.make(202, ["connectionId": id, "wabaId": waba, "webhookUpdate": ["status": "pending", "version": version] as [String: Any?]])
    }

    /// Checks and records a webhook change for the connection's WABA (or its number) and queues
    /// the job that applies it at Meta; the API's PATCH and the dashboard share it. A nil URL or
    /// verify token keeps the one last asked for.
    static func requestWebhookChange(_ id: String, accountID: String, url newURL: String?, verifyToken newToken: String?,
                                     configuration: AppConfiguration, on connection: Connection) throws -> (waba: String, version: Int) {
        if let newURL {
            _ = try URLRules.outbound(newURL, param: "webhookOverrideUrl", maxLength: 200, allowPrivate: configuration.allowPrivateTargets)
        }
        if let newToken {
            guard (1...128).contains(newToken.count), newToken.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7e }) else {
                throw APIError.validationFailed(param: "webhookVerifyToken", "webhookVerifyToken must be 1 to 128 printable ASCII characters without spaces")
            }
        }
        guard let row = try connection.sql("""
            SELECT waba_id, status, webhook_scope, phone_number_id FROM connections WHERE id = \(id) AND account_id = \(accountID)
            """).first else {
            throw APIError.notFound("connection \(id)")
        }
        let status: String = try row.decode(at: 1)
        guard status == ConnectionStatus.active.rawValue else {
            throw APIError(status: 409, code: "conflict", message: "connection \(id) is \(status)")
        }
        let waba: String = try row.decode(at: 0)
        // Per-number routing changes only this number's override; otherwise the WABA's.
        let phone: String? = try row.decode(String.self, at: 2) == WebhookScope.phoneNumber.rawValue ? try row.decode(String.self, at: 3) : nil
        let target = phone ?? waba
        // Requests for one target take turns, so a PATCH of one field cannot read what another
        // is replacing and write it back. A field left out keeps what was last asked for: a
        // change still waiting for Meta, else what Meta shows now, read in one statement so a
        // change the job commits meanwhile is seen as waiting or as applied, never as neither.
        _ = try connection.sql("SELECT pg_advisory_xact_lock(hashtextextended('webhook-request:' || \(target), 0))")
        let current = try connection.sql("""
            SELECT COALESCE(w.webhook_override_url, c.webhook_override_url), w.webhook_verify_token, c.webhook_verify_token
            FROM connections c LEFT JOIN webhook_updates w ON w.target = \(target) AND w.status = 'pending'
            WHERE c.id = \(id)
            """)[0]
        let url = try newURL ?? current.decode(String.self, at: 0)
        let token = try newToken
            ?? current.decode(String?.self, at: 1).map { try configuration.vault.openText($0, associatedData: UpdateWebhook.associatedData(target: target)) }
            ?? configuration.vault.openText(try current.decode(String.self, at: 2), associatedData: "connection:\(id):verify_token")
        let sealed = try configuration.vault.seal(token, associatedData: UpdateWebhook.associatedData(target: target))
        let version = try connection.sql("""
            INSERT INTO webhook_updates AS w (target, waba_id, account_id, version, webhook_override_url, webhook_verify_token, status)
            VALUES (\(target), \(waba), \(accountID), 1, \(url), \(sealed), 'pending')
            ON CONFLICT (target) DO UPDATE SET version = w.version + 1, account_id = EXCLUDED.account_id,
                webhook_override_url = EXCLUDED.webhook_override_url, webhook_verify_token = EXCLUDED.webhook_verify_token,
                status = 'pending', error = NULL, requested_at = now(), updated_at = now()
            RETURNING version
            """).scalar(Int.self) ?? 1
        try JobQueue.enqueue(UpdateWebhook.self, .init(wabaId: waba, connectionId: id, phoneNumberId: phone), on: connection)
        return (waba, version)
    }

    /// Queues the disconnection; a connection already disconnected answers the same.
    static func delete(_ context: APIContext) throws -> Response {
        let id = context.request.parameters["id"] ?? ""
        guard let status = try context.connection.sql("SELECT status FROM connections WHERE id = \(id) AND account_id = \(context.account.accountID)").scalar(String.self) else {
            throw APIError.notFound("connection \(id)")
        }
        let live = ConnectionStatus(rawValue: status).map(ConnectionStatus.live.contains) ?? false
        if live {
            try Disconnect.enqueue(id, reason: .api, unsubscribe: true, on: context.connection)
        }
        return JSONResponse.make(202, ["connectionId": id, "status": live ? "disconnecting" : "disconnected"])
    }
}
