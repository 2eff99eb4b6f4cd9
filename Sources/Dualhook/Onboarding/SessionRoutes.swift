import Crypto
import Foundation
import HTTPServer
import JSON
import JobQueue
import Postgres

/// `POST/GET /api/v1/onboarding/sessions`, `GET /api/v1/onboarding/sessions/{id}`.
enum SessionRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        router.add("POST", "/api/v1/onboarding/sessions", RouteEntry(.apiSharedCommit, create))
        router.add("GET", "/api/v1/onboarding/sessions", RouteEntry(.api, query: ["limit", "cursor", "tenantId", "status", "since"], list))
        router.add("GET", "/api/v1/onboarding/sessions/{id}", RouteEntry(.api, get))
        router.add("POST", "/api/v1/onboarding/sessions/{id}/cancel", RouteEntry(.api, SessionActions.cancel))
        router.add("POST", "/api/v1/onboarding/sessions/{id}/link", RouteEntry(.api, SessionActions.link))
    }

    struct Created: Encodable {
        let sessionId: String
        let onboardingUrl: String
        let status: String
        let expiresAt: Date
    }

    /// The request's session joins the sessions of requests arriving meanwhile in one
    /// transaction (`SessionBatch`); its Idempotency-Key is reserved and its answer stored in
    /// that transaction, as the `api` group's steps do for a request's own.
    static func create(_ context: APIContext) throws -> Response {
        let request = context.request
        let key = request.header("Idempotency-Key")
        if let key { try Idempotency.validate(key) }
        let accountID = context.account.accountID
        let vault = context.configuration.vault
        let input: SessionRequest
        // Read once by the scanner: the fields, the metadata and a key's canonical form all
        // come from this reading (Foundation parses only a body the scanner refuses).
        let document = JSONDocument(utf8: request.body)
        do {
            if context.account.onboardingBlocked { throw PlanStore.planRequired }
            input = try SessionRequest(
                body: try JSONObject(body: request.body, document: document),
                redirectOrigins: context.account.redirectOrigins,
                allowPrivateTargets: context.configuration.allowPrivateTargets)
        } catch {
            // A refused request answers as its key says first, as a request of its own did: a
            // retry of a session created before the account's trial ended (or its redirect
            // origins changed) still gets its stored 201; a key in use is 409, another body 422.
            guard let key else { throw error }
            return try context.connection.transaction { tx in
                if case .replay(let stored) = try Idempotency.claim(key: key, accountID: accountID, request: request, vault: vault, on: tx) {
                    return stored
                }
                throw error
            }
        }
        var (pending, created) = try prepare(input, accountID: accountID, configuration: context.configuration)
        let answer = Response(status: 201, headers: [("Content-Type", "application/json")], body: created.json)
        if let key {
            pending.answer = Idempotency.StoredAnswer(
                ticket: IdempotencyTicket(key: key, accountID: accountID, requestHash: Idempotency.requestHash(request, document: document)),
                status: answer.status, sealedBody: try Idempotency.sealed(answer.body, accountID: accountID, key: key, vault: vault))
        }
        // A batch runs on its leader's own connection (no transaction open on it). A batch that
        // failed is written again request by request on that connection, or on one from the
        // pool once it broke, so a lost connection fails the requests no other connection could
        // write.
        let lend: CommitBatcher<SessionBatch.Pending, SessionBatch.Outcome>.Lend = { write in
            context.connection.isBroken ? try context.pool.withConnection { try write($0) } : try write(context.connection)
        }
        switch try SessionBatch.recorder.submit([pending], lend: lend)[0] {
        case .created: return answer
        case .keyInUse: throw APIError.idempotencyKeyInUse
        case .stored(let stored):
            // Only a request with a key finds an answer stored under it.
            return try Idempotency.replay(stored, key: key!, accountID: accountID, request: request, vault: vault)
        }
    }

    /// A session ready to write, and the answer that names it.
    static func prepare(_ input: SessionRequest, accountID: String, configuration: AppConfiguration) throws -> (SessionBatch.Pending, Created) {
        let id = Identifiers.make("ses")
        let token = Identifiers.onboardingToken()
        // Millisecond precision, as every timestamp the API prints.
        let expiresAt = Date(timeIntervalSince1970: ((Date().timeIntervalSince1970 + Double(input.expiresInSeconds)) * 1000).rounded(.down) / 1000)
        let created = Created(sessionId: id, onboardingUrl: "\(configuration.publicURL)/onboard/\(token)", status: "created",
                              expiresAt: expiresAt)
        let sealedVerifyToken = try configuration.vault.seal(input.webhookVerifyToken, associatedData: "session:\(id):verify_token")
        let pending = SessionBatch.Pending(accountID: accountID, id: id, tokenHash: Digest.sha256(token),
                                           sealedVerifyToken: sealedVerifyToken, expiresAt: expiresAt, input: input)
        return (pending, created)
    }

    /// The dashboard's "create a link": one session in the page's own transaction (the page
    /// shows the new session right after).
    static func create(_ input: SessionRequest, accountID: String, configuration: AppConfiguration,
                       on connection: Connection) throws -> Created {
        let (pending, created) = try prepare(input, accountID: accountID, configuration: configuration)
        try connection.sql(SessionBatch.insert([pending]))
        JobQueue.wake(WebhookCheck.queue, after: connection)
        return created
    }

    struct Session: Encodable {
        let sessionId: String
        let tenantId: String
        let status: String
        let webhookCheck: String
        /// Why the check failed: the status code or network error, never a secret.
        @Nullable var webhookCheckError: String?
        @Nullable var failureReason: String?
        /// What the person reported in Meta's window, for `signup_error`.
        @Nullable var failureDetail: RawJSON?
        @Nullable var connectionId: String?
        let metadata: RawJSON
        let webhookScope: String
        @Nullable var locale: String?
        /// What the session was created with, read back (never the verify token).
        let webhookOverrideUrl: String
        let successRedirectUrl: String
        let failureRedirectUrl: String
        let cancelRedirectUrl: String
        let coexistence: Bool
        let createdAt: Date
        let expiresAt: Date
    }

    static let columns = """
        id, tenant_id, status, webhook_check, failure_reason, connection_id, metadata::text, created_at, expires_at,
        failure_detail::text, webhook_scope, locale, expires_at < now(), webhook_check_error,
        webhook_override_url, success_redirect_url, failure_redirect_url, cancel_redirect_url, coexistence
        """

    /// A session as it is at read time: an unfinished one past its expiry is `expired`, with
    /// reason `expired`, before the sweep gets to it.
    static func session(_ row: Row) throws -> Session {
        let stored: String = try row.decode(at: 2)
        let lapsed = try row.decode(Bool.self, at: 12) && (stored == "created" || stored == "opened")
        return Session(sessionId: try row.decode(at: 0), tenantId: try row.decode(at: 1), status: lapsed ? "expired" : stored,
                webhookCheck: try row.decode(at: 3), webhookCheckError: try row.decode(at: 13), failureReason: lapsed ? "expired" : try row.decode(at: 4),
                failureDetail: try row.decode(String?.self, at: 9).map(RawJSON.init), connectionId: try row.decode(at: 5),
                metadata: RawJSON(text: try row.decode(at: 6)), webhookScope: try row.decode(at: 10), locale: try row.decode(at: 11),
                webhookOverrideUrl: try row.decode(at: 14), successRedirectUrl: try row.decode(at: 15),
                failureRedirectUrl: try row.decode(at: 16), cancelRedirectUrl: try row.decode(at: 17), coexistence: try row.decode(at: 18),
                createdAt: try row.decode(at: 7), expiresAt: try row.decode(at: 8))
    }

    static func get(_ context: APIContext) throws -> Response {
        let id = context.request.parameters["id"] ?? ""
        guard let row = try context.connection.sql("SELECT \(unescaped: columns) FROM onboarding_sessions WHERE id = \(id) AND account_id = \(context.account.accountID)").first else {
            throw APIError.notFound("onboarding session \(id)")
        }
        return .json(200, try session(row))
    }

    static let statuses = ["created", "opened", "exchanging", "awaiting_number", "completed", "failed", "cancelled", "expired"]

    /// Sessions of one status as reads show it (the API's list and the dashboard's): an
    /// unfinished session past its expiry counts as expired.
    static func statusCondition(_ status: String) -> PostgresQuery {
        switch status {
        case "expired": "(status = 'expired' OR (status IN ('created', 'opened') AND expires_at < now()))"
        case "created", "opened": "status = \(status) AND expires_at >= now()"
        default: "status = \(status)"
        }
    }

    static func list(_ context: APIContext) throws -> Response {
        let query = context.request.query
        let page = try Pagination(query: query)
        if let status = query["status"], !statuses.contains(status) {
            throw APIError.validationFailed(param: "status", "status must be one of \(statuses.joined(separator: ", "))")
        }
        let since = try Timestamps.since(query)
        var filter = SQLFilter()
        filter.add("account_id = \(context.account.accountID)")
        filter.add(ifGiven: query["tenantId"]) { "tenant_id = \($0)" }
        filter.add(ifGiven: query["status"], statusCondition)
        filter.add(ifGiven: since) { "created_at >= \($0)" }
        filter.after(page, createdAt: "created_at", id: "id")
        let rows = try context.connection.sql("""
            SELECT \(unescaped: columns) FROM onboarding_sessions WHERE \(filter.sql) ORDER BY created_at DESC, id DESC LIMIT \(page.limit + 1)
            """).rows
        let sessions = try rows.prefix(page.limit).map(session)
        let next = rows.count > page.limit ? sessions.last.map { Pagination.cursor(createdAt: $0.createdAt, id: $0.sessionId) } : nil
        return .json(200, Page(data: sessions, nextCursor: next))
    }
}

/// JSON text passed through to a response untouched.
struct RawJSON: Encodable {
    let text: String
    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        try container.encode(value)
    }
}
