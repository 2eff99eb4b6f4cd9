import Crypto
import Foundation
import HTTPServer
import Postgres

/// `POST /api/v1/connections/{id}/reveal-secrets` and `GET /api/v1/audit/secret-reveals`.
/// A reveal answers with `Cache-Control: no-store`, writes its audit row in the same
/// transaction, and spends one of the API key's 60 reveals per hour (a sliding hour counted on
/// the audit rows themselves, so the budget and the audit cannot disagree). Its answer is never
/// stored for an Idempotency-Key: every call is a reveal, and is audited.
enum RevealRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        router.add("POST", "/api/v1/connections/{id}/reveal-secrets", RouteEntry(.apiAnsweredEachTime, reveal))
        router.add("GET", "/api/v1/audit/secret-reveals", RouteEntry(.api, query: ["limit", "cursor", "connectionId", "keyId", "since"], list))
    }

    static let secretTypes = ["access_token", "webhook_verify_token", "registration_pin"]
    static let perHour = 60

    static func reveal(_ context: APIContext) throws -> Response {
        let body = try JSONObject(body: context.request.body)
        try body.rejectUnknown(allowed: ["secretTypes"])
        guard let types = try body.stringArray("secretTypes", maxCount: secretTypes.count), !types.isEmpty else {
            throw APIError.validationFailed(param: "secretTypes", "secretTypes must list one or more of \(secretTypes.joined(separator: ", "))")
        }
        if let unknown = types.first(where: { !secretTypes.contains($0) }) {
            throw APIError.validationFailed(param: "secretTypes",
                                            "unknown secret type \(unknown); known: \(secretTypes.joined(separator: ", "))")
        }
        let requested = Array(Set(types)).sorted()
        let id = context.request.parameters["id"] ?? ""
        let connection = context.connection
        guard let row = try connection.sql("""
            SELECT access_token, webhook_verify_token, registration_pin, status FROM connections WHERE id = \(id) AND account_id = \(context.account.accountID)
            """).first else {
            throw APIError.notFound("connection \(id)")
        }
        // Disconnecting erases a connection's secrets (after Meta was told); nothing is left to show.
        if try row.decode(String.self, at: 3) == ConnectionStatus.disconnected.rawValue {
            throw APIError(status: 409, code: "conflict", message: "connection \(id) is disconnected; its secrets were erased")
        }

        // The key's budget: reveals of the last hour, counted under a per-key lock.
        let keyID = context.account.keyID
        _ = try connection.sql("SELECT pg_advisory_xact_lock(hashtextextended('reveal:' || \(keyID), 0))")
        let window = try connection.sql("""
            SELECT count(*)::int, extract(epoch FROM min(created_at) + interval '1 hour')::bigint
            FROM secret_reveal_events WHERE api_key_id = \(keyID) AND created_at > now() - interval '1 hour'
            """).first!
        let used: Int = try window.decode(at: 0)
        let now = Int64(Date().timeIntervalSince1970)
        let reset = try window.decode(Int64?.self, at: 1) ?? now + 3600
        let budget = ["X-RateLimit-Limit": String(perHour), "X-RateLimit-Remaining": String(max(0, perHour - used - 1)),
                      "X-RateLimit-Reset": String(reset)]
        guard used < perHour else {
            var error = APIError.rateLimited(retryAfter: Int(max(1, reset - now)), budget: "\(perHour) secret reveals per hour for this API key")
            error.headers.merge(budget) { _, new in new }
            error.headers["X-RateLimit-Remaining"] = "0"
            throw error
        }

        var secrets: [String: Any?] = [:]
        let vault = context.configuration.vault
        for type in requested {
            switch type {
            case "access_token":
                secrets[type] = try vault.openText(try row.decode(at: 0), associatedData: id)
            case "webhook_verify_token":
                secrets[type] = try vault.openText(try row.decode(at: 1), associatedData: "connection:\(id):verify_token")
            default:
                secrets[type] = try row.decode(String?.self, at: 2).map { try vault.openText($0, associatedData: "connection:\(id):pin") }
            }
        }
        try connection.sql("""
            INSERT INTO secret_reveal_events (id, account_id, api_key_id, connection_id, secret_types, client_ip)
            VALUES (\(Identifiers.make("rev")), \(context.account.accountID), \(keyID), \(id), \(requested)::text[],
                    \(context.request.clientIP))
            """)
        return JSONResponse.make(200, ["connectionId": id, "secrets": secrets],
                                 headers: [("Cache-Control", "no-store"), ("Pragma", "no-cache")] + budget.sorted { $0.key < $1.key })
    }

    static func list(_ context: APIContext) throws -> Response {
        let query = context.request.query
        let page = try Pagination(query: query)
        let since = try Timestamps.since(query)
        var filter = SQLFilter()
        filter.add("account_id = \(context.account.accountID)")
        filter.add(ifGiven: query["connectionId"]) { "connection_id = \($0)" }
        filter.add(ifGiven: query["keyId"]) { "api_key_id = \($0)" }
        filter.add(ifGiven: since) { "created_at >= \($0)" }
        filter.after(page, createdAt: "created_at", id: "id")
        let rows = try context.connection.sql("""
            SELECT id, api_key_id, connection_id, secret_types::text, client_ip, created_at FROM secret_reveal_events
            WHERE \(filter.sql) ORDER BY created_at DESC, id DESC LIMIT \(page.limit + 1)
            """).rows
        let items: [[String: Any?]] = try rows.prefix(page.limit).map {
            ["revealId": try $0.decode(String.self, at: 0), "keyId": try $0.decode(String.self, at: 1),
             "connectionId": try $0.decode(String.self, at: 2), "secretTypes": PostgresTextArray.parse(try $0.decode(String.self, at: 3)),
             "clientIp": try $0.decode(String?.self, at: 4), "createdAt": try $0.decode(Date.self, at: 5)]
        }
        var next: String?
        if rows.count > page.limit, let last = rows.prefix(page.limit).last {
            next = Pagination.cursor(createdAt: try last.decode(Date.self, at: 5), id: try last.decode(String.self, at: 0))
        }
        return JSONResponse.make(200, ["data": items, "nextCursor": next])
    }
}
