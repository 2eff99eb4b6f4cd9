import Foundation
import HTTPServer
import JobQueue
import Postgres

/// The public side of onboarding, reached through the one-time link: the co-branded page and
/// the calls its script makes. No API key; the link's token is the credential.
enum PageRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        // A link whose escapes do not decode was mangled on its way (a mail client, say): no
        // token it could be, so the person gets the page for a link that does not exist.
        router.add("GET", "/onboard/{token}", RouteEntry(.open, page).answeringMalformed { missingLink($0.header("Accept-Language")) })
        router.add("POST", "/onboard/{token}/open", RouteEntry(.open, open))
        router.add("POST", "/onboard/{token}/recheck", RouteEntry(.open, recheck))
        router.add("POST", "/onboard/{token}/complete", RouteEntry(.open, complete))
        router.add("POST", "/onboard/{token}/cancel", RouteEntry(.open, cancel))
        router.add("GET", "/onboard/{token}/status", RouteEntry(.open, status))
    }

    /// The link's session. A link replaced by a newer one answers 410 here as its page does, so
    /// a page still open on it says so rather than that the link does not exist.
    static func session(_ context: APIContext) throws -> OnboardingSession {
        let token = context.request.parameters["token"] ?? ""
        guard let found = try OnboardingSession.find(token: token, on: context.connection) else {
            if try OnboardingSession.wasReplaced(token: token, on: context.connection) {
                throw APIError(status: 410, code: "session_expired", message: "this onboarding link was replaced by a newer one")
            }
            throw APIError.notFound("onboarding link")
        }
        return found
    }

    /// The page as the link shows it. A GET changes nothing: link previews and mail scanners
    /// fetch links too; the page's script reports a person (`open`).
    static func page(_ context: APIContext) throws -> Response {
        let acceptLanguage = context.request.header("Accept-Language")
        guard let session = try OnboardingSession.find(token: context.request.parameters["token"] ?? "", on: context.connection) else {
            if let replaced = try OnboardingSession.replacedBranding(token: context.request.parameters["token"] ?? "", on: context.connection) {
                return OnboardingPage.gone(status: 410, .replaced, language: PageLanguage.choose(requested: replaced.locale, acceptLanguage: acceptLanguage),
                                           branding: replaced.branding)
            }
            return missingLink(acceptLanguage)
        }
        let language = PageLanguage.choose(requested: session.locale, acceptLanguage: acceptLanguage)
        // Loaded again (a reload) while the code is exchanged: the page that follows it to its
        // redirect, not a page that leaves the person there.
        if session.status == "exchanging" && !session.expired {
            return OnboardingPage.render(session, meta: context.configuration.meta, token: context.request.parameters["token"] ?? "",
                                         language: language, connecting: true)
        }
        guard session.isOpen else {
            return OnboardingPage.gone(status: 410, closedPage(session), language: language, branding: session.branding,
                                       tenant: session.tenantName ?? session.tenantID)
        }
        return OnboardingPage.render(session, meta: context.configuration.meta, token: context.request.parameters["token"] ?? "",
                                     language: language)
    }

    /// No session has this link: the browser's language is all there is to go by.
    static func missingLink(_ acceptLanguage: String?) -> Response {
        OnboardingPage.gone(status: 404, .missing, language: PageLanguage.choose(requested: nil, acceptLanguage: acceptLanguage))
    }

    /// The page's script ran in a browser: a person opened the link. The first report moves the
    /// session to `opened` and emits `onboarding.started`; a session the person cancelled in
    /// Meta's window is open again.
    static func open(_ context: APIContext) throws -> Response {
        let body = try JSONObject(body: context.request.body, allowEmpty: true)
        try body.rejectUnknown(allowed: [])
        let session = try session(context)
        try requireOpen(session)
        if session.status == "created" {
            try context.connection.sql("UPDATE onboarding_sessions SET status = 'opened', opened_at = now() WHERE id = \(session.id)")
            try Outbox.emit(type: .onboardingStarted, accountID: session.accountID, dataJSON: session.eventData(), on: context.connection)
        } else if session.status == "cancelled" {
            try context.connection.sql("""
                UPDATE onboarding_sessions SET status = 'opened', failure_reason = NULL, cancelled_by = NULL WHERE id = \(session.id)
                """)
        }
        return Response(status: 204)
    }

    struct Check: Encodable {
        let webhookCheck: String
    }

    /// The person pressed Connect while the tenant's URL stood refused: it is checked again
    /// (by a worker, as the front calls nobody) instead of sending them through Meta's window
    /// only to fail at the end. The page polls `status` for the outcome.
    static func recheck(_ context: APIContext) throws -> Response {
        try JSONObject(body: context.request.body, allowEmpty: true).rejectUnknown(allowed: [])
        let session = try session(context)
        try requireOpen(session)
        guard session.webhookCheck == "failed" else { return .json(200, Check(webhookCheck: session.webhookCheck)) }
        try WebhookCheck.again(sessionID: session.id, on: context.connection)
        return .json(202, Check(webhookCheck: "pending"))
    }

    /// What a link that no longer starts a sign-up says, by how its session ended.
    static func closedPage(_ session: OnboardingSession) -> ClosedPage {
        if session.expired || session.status == "expired" { return .expired }
        switch session.status {
        case "completed": return .completed
        case "awaiting_number": return .awaitingNumber
        case "exchanging": return .exchanging
        case "cancelled": return .withdrawn
        default: return .notFinished
        }
    }

    static func complete(_ context: APIContext) throws -> Response {
        let body = try JSONObject(body: context.request.body)
        try body.rejectUnknown(allowed: ["code", "wabaId", "phoneNumberId", "businessId", "event"])
        let code = try body.string("code", required: true, length: 1...2048)!
        func graphID(_ name: String, required: Bool) throws -> String? {
            guard let value = try body.string(name, required: required, length: 1...32) else { return nil }
            guard value.allSatisfy(\.isNumber) else { throw APIError.validationFailed(param: name, "\(name) must be a Graph id (digits)") }
            return value
        }
        let wabaID = try graphID("wabaId", required: true)!
        let phoneID = try graphID("phoneNumberId", required: false)
        let businessID = try graphID("businessId", required: false)
        let event = try body.string("event", length: 1...64)

        let session = try session(context)
        try requireOpen(session)
        try context.connection.sql("""
            UPDATE onboarding_sessions SET status = 'exchanging', exchanging_since = now(), failure_reason = NULL, cancelled_by = NULL
            WHERE id = \(session.id)
            """)
        let args = ExchangeCode.Args(
            sessionId: session.id,
            sealedCode: try context.configuration.vault.seal(code, associatedData: ExchangeCode.associatedData(sessionID: session.id)),
            wabaId: wabaID, phoneNumberId: phoneID, businessId: businessID, event: event)
        try JobQueue.enqueue(ExchangeCode.self, args, on: context.connection)
        return .json(202, ["status": "exchanging"])
    }

    /// The person left Meta's window. Without an error it is their choice: `cancelled`. With an
    /// error they reported there (Meta's `CANCEL` with `error_message`/`error_id`, or an older
    /// SDK's `ERROR`) it is a failure: `failed` with `signup_error` and what they reported.
    static func cancel(_ context: APIContext) throws -> Response {
        let body = try JSONObject(body: context.request.body, allowEmpty: true)
        try body.rejectUnknown(allowed: ["currentStep", "errorCode", "errorId", "errorMessage", "metaSessionId"])
        let step = try body.string("currentStep", length: 1...100)
        // `errorCode` is the older name of `errorId`.
        let errorID = try body.string("errorId", length: 1...100) ?? body.string("errorCode", length: 1...100)
        let errorMessage = try body.string("errorMessage", length: 1...1000)
        let metaSessionID = try body.string("metaSessionId", length: 1...100)
        let session = try session(context)
        try requireOpen(session)
        // Cancelled already (a double click, a retry): the same answer, no second event.
        if session.status == "cancelled" {
            return .json(200, ["redirectUrl": OnboardingSession.url(session.cancelURL, ["sessionId": session.id, "status": "cancelled"])])
        }
        guard errorID != nil || errorMessage != nil else {
            try context.connection.sql("""
                UPDATE onboarding_sessions SET status = 'cancelled', failure_reason = 'cancelled', cancelled_by = 'end_user' WHERE id = \(session.id)
                """)
            // `end_user`: not final; the person may start again from the link while it lives,
            // and the same session then completes or fails (the API's cancel says `api`).
            var extra = ["reason": "cancelled", "cancelledBy": "end_user"]
            if let step { extra["currentStep"] = step }
            try Outbox.emit(type: .onboardingFailed, accountID: session.accountID, dataJSON: session.eventData(extra), on: context.connection)
            return .json(200, ["redirectUrl": OnboardingSession.url(session.cancelURL, ["sessionId": session.id, "status": "cancelled"])])
        }
        let detail = SignupErrorDetail(currentStep: step, errorMessage: errorMessage, errorId: errorID, metaSessionId: metaSessionID)
        try context.connection.sql("""
            UPDATE onboarding_sessions SET status = 'failed', failure_reason = \(ProvisioningFailure.signupError), failure_detail = \(PostgresRawJSON(detail.json))::jsonb WHERE id = \(session.id)
            """)
        var extra = ["reason": ProvisioningFailure.signupError]
        if let step { extra["currentStep"] = step }
        if let errorMessage { extra["errorMessage"] = errorMessage }
        if let errorID { extra["errorId"] = errorID }
        try Outbox.emit(type: .onboardingFailed, accountID: session.accountID, dataJSON: session.eventData(extra), on: context.connection)
        return .json(200, ["redirectUrl": OnboardingSession.url(session.failureURL, ["sessionId": session.id, "status": "failed",
                                                                                     "reason": ProvisioningFailure.signupError])])
    }

    /// What the person reported in Meta's window, as the session's `failureDetail` shows it.
    struct SignupErrorDetail: Encodable {
        @Nullable var currentStep: String?
        @Nullable var errorMessage: String?
        @Nullable var errorId: String?
        let metaSessionId: String?

        var json: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
        }
    }

    struct Status: Encodable {
        let status: String
        @Nullable var redirectUrl: String?
        let webhookCheck: String
        /// Whether the link can still start Meta's sign-up (a page left open watches it).
        let open: Bool
    }

    static func status(_ context: APIContext) throws -> Response {
        let session = try session(context)
        return .json(200, Status(status: session.effectiveStatus, redirectUrl: session.redirectURL, webhookCheck: session.webhookCheck,
                                 open: session.isOpen))
    }

    static func requireOpen(_ session: OnboardingSession) throws {
        if session.expired || session.status == "expired" {
            throw APIError(status: 410, code: "session_expired", message: "this onboarding link has expired")
        }
        guard session.isOpen else {
            throw APIError(status: 409, code: "session_used", message: "this onboarding link was already used")
        }
    }
}
