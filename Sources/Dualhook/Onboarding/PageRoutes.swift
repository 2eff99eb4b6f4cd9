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
        router.add("GET", "/onboard/{token}", RouteEntry(.open, page).answeringMalformed { _ in missingLink() })
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
        guard let session = try OnboardingSession.find(token: context.request.parameters["token"] ?? "", on: context.connection) else {
            if let branding = try OnboardingSession.replacedBranding(token: context.request.parameters["token"] ?? "", on: context.connection) {
                return OnboardingPage.gone(status: 410, title: "This link was replaced by a newer one",
                                           detail: "Use the most recent link you were sent, or ask for a new one.", branding: branding)
            }
            return missingLink()
        }
        let language = PageLanguage.choose(requested: session.locale, acceptLanguage: context.request.header("Accept-Language"))
        // Loaded again (a reload) while the code is exchanged: the page that follows it to its
        // redirect, not a page that leaves the person there.
        if session.status == "exchanging" && !session.expired {
            return OnboardingPage.render(session, meta: context.configuration.meta, token: context.request.parameters["token"] ?? "",
                                         language: language, connecting: true)
        }
        guard session.isOpen else {
            let (title, detail) = closedPage(session)
            return OnboardingPage.gone(status: 410, title: title, detail: detail, branding: session.branding)
        }
        return OnboardingPage.render(session, meta: context.configuration.meta, token: context.request.parameters["token"] ?? "",
                                     language: language)
    }

    static func missingLink() -> Response {
        OnboardingPage.gone(status: 404, title: "This link does not exist",
                            detail: "Check that the whole link was copied, or ask for a new one.")
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
    static func closedPage(_ session: OnboardingSession) -> (title: String, detail: String) {
        let brand = session.displayName
        let tenant = session.tenantName ?? session.tenantID
        if session.expired || session.status == "expired" {
            return ("This link has expired", "Onboarding links work for a limited time. Ask \(brand) for a new one.")
        }
        switch session.status {
        case "completed":
            return ("\(tenant) is connected", "This link has done its job: the WhatsApp number is connected to \(brand). There is nothing more to do here.")
        case "awaiting_number":
            return ("\(tenant) is almost connected",
                    "The WhatsApp Business account is connected to \(brand); its phone number follows as soon as Meta shows it verified. There is nothing more to do here.")
        case "exchanging":
            return ("Your number is being connected", "This takes a moment; you can close this page. \(brand) will confirm when it is done.")
        case "cancelled":
            return ("This link was withdrawn", "\(brand) withdrew this link. Ask \(brand) for a new one if you still want to connect.")
        default:
            return ("This sign-up did not finish", "Each onboarding link works once. Ask \(brand) for a new link to try again.")
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
            var extra = ["reason": "cancelled"]
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
