import Crypto
import Foundation
import HTTPServer
import Postgres

/// `POST /api/v1/onboarding/sessions/{id}/cancel` and `…/link`: the account revokes a link, or
/// sends a fresh one for a session that has not finished.
enum SessionActions {
    /// The session, locked for the request's transaction, as the account may act on it.
    struct Target {
        let id: String
        let status: String
        let expired: Bool
        let cancelledBy: String?
        let tenantID: String
        let metadataJSON: String
        let expiresAt: Date

        var unfinished: Bool { OnboardingSession.isUnfinished(status: status, cancelledBy: cancelledBy) }
    }

    static func target(_ context: APIContext) throws -> Target {
        let id = context.request.parameters["id"] ?? ""
        guard let row = try context.connection.sql("""
            SELECT id, status, expires_at < now(), cancelled_by, tenant_id, metadata::text, expires_at
            FROM onboarding_sessions WHERE id = \(id) AND account_id = \(context.account.accountID)
            FOR UPDATE
            """).first else {
            throw APIError.notFound("onboarding session \(id)")
        }
        return Target(id: try row.decode(at: 0), status: try row.decode(at: 1), expired: try row.decode(at: 2),
                      cancelledBy: try row.decode(at: 3), tenantID: try row.decode(at: 4), metadataJSON: try row.decode(at: 5),
                      expiresAt: try row.decode(at: 6))
    }

    /// The link stops working and the session ends `cancelled` for good; the account gets
    /// `onboarding.failed` with reason `cancelled`. Cancelling it again answers the same.
    static func cancel(_ context: APIContext) throws -> Response {
        try JSONObject(body: context.request.body, allowEmpty: true).rejectUnknown(allowed: [])
        let session = try target(context)
        if !(session.status == "cancelled" && session.cancelledBy == "api") {
            guard session.unfinished, !session.expired else {
                throw APIError(status: 409, code: "conflict",
                               message: "onboarding session \(session.id) is \(session.expired && session.unfinished ? "expired" : session.status) and can no longer be cancelled")
            }
            try context.connection.sql("""
                UPDATE onboarding_sessions SET status = 'cancelled', failure_reason = 'cancelled', cancelled_by = 'api'
                WHERE id = \(session.id)
                """)
            // An end user's cancel already told the account; the account's own cancel of such a
            // session is no news to it.
            if session.status != "cancelled" {
                try Outbox.emit(type: .onboardingFailed, accountID: context.account.accountID,
                                dataJSON: Outbox.data(["tenantId": session.tenantID, "sessionId": session.id, "reason": "cancelled",
                                                       "cancelledBy": "api"], metadataJSON: session.metadataJSON),
                                on: context.connection)
            }
        }
        return try SessionRoutes.get(context)
    }

    struct Link: Encodable {
        let sessionId: String
        let onboardingUrl: String
        let expiresAt: Date
    }

    /// A fresh one-time URL for the session; the old one answers 410 from now on. The session
    /// keeps its expiry.
    static func link(_ context: APIContext) throws -> Response {
        try JSONObject(body: context.request.body, allowEmpty: true).rejectUnknown(allowed: [])
        let session = try target(context)
        // Read by the authentication statement this request already ran.
        if context.account.onboardingBlocked { throw PlanStore.planRequired }
        if session.expired && session.unfinished || session.status == "expired" {
            throw APIError(status: 410, code: "session_expired", message: "onboarding session \(session.id) has expired; create a new one")
        }
        guard session.unfinished else {
            throw APIError(status: 409, code: "session_used",
                           message: "onboarding session \(session.id) is \(session.status); a new link would lead nowhere")
        }
        let token = Identifiers.onboardingToken()
        try context.connection.sql("""
            WITH old AS (SELECT token_hash FROM onboarding_sessions WHERE id = \(session.id)),
            retired AS (INSERT INTO onboarding_retired_links (token_hash, session_id) SELECT token_hash, \(session.id) FROM old)
            UPDATE onboarding_sessions SET token_hash = \(Digest.sha256(token)) WHERE id = \(session.id)
            """)
        return .json(201, Link(sessionId: session.id, onboardingUrl: "\(context.configuration.publicURL)/onboard/\(token)",
                               expiresAt: session.expiresAt))
    }
}
