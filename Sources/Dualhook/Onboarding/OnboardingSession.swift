import Crypto
import Foundation
import Postgres

/// A session as the public onboarding routes see it, found by its link's token.
struct OnboardingSession {
    let id: String
    let accountID: String
    let tenantID: String
    let status: String
    let expired: Bool
    let coexistence: Bool
    let failureReason: String?
    let successURL: String
    let failureURL: String
    let cancelURL: String
    let metadataJSON: String
    let displayName: String
    let logoURL: String?
    let tenantName: String?
    let locale: String?
    /// `end_user` or `api` for a cancelled session.
    let cancelledBy: String?
    /// `pending`, `passed` or `failed`: whether the tenant's URL answered Meta's handshake.
    let webhookCheck: String
    /// How the page shows the account: its colour and whom to ask.
    let branding: PageBranding

    /// Locks the session's row for the request's transaction.
    static func find(token: String, on connection: Connection) throws -> OnboardingSession? {
        try connection.sql("""
            SELECT s.id, s.account_id, s.tenant_id, s.status, s.expires_at < now(), s.coexistence, s.failure_reason,
                   s.success_redirect_url, s.failure_redirect_url, s.cancel_redirect_url, s.metadata::text,
                   a.display_name, a.logo_url, t.name, s.locale, s.cancelled_by, s.webhook_check,
                   a.brand_color, a.support_email, a.support_url, a.privacy_policy_url
            FROM onboarding_sessions s
            JOIN accounts a ON a.id = s.account_id
            JOIN tenants t ON t.account_id = s.account_id AND t.tenant_id = s.tenant_id
            WHERE s.token_hash = \(Digest.sha256(token))
            FOR UPDATE OF s
            """).first.map {
            OnboardingSession(
                id: try $0.decode(at: 0), accountID: try $0.decode(at: 1), tenantID: try $0.decode(at: 2), status: try $0.decode(at: 3),
                expired: try $0.decode(at: 4), coexistence: try $0.decode(at: 5), failureReason: try $0.decode(at: 6),
                successURL: try $0.decode(at: 7), failureURL: try $0.decode(at: 8), cancelURL: try $0.decode(at: 9),
                metadataJSON: try $0.decode(at: 10), displayName: try $0.decode(at: 11), logoURL: try $0.decode(at: 12),
                tenantName: try $0.decode(at: 13), locale: try $0.decode(at: 14), cancelledBy: try $0.decode(at: 15),
                webhookCheck: try $0.decode(at: 16),
                branding: PageBranding(displayName: try $0.decode(at: 11), logoURL: try $0.decode(at: 12), brandColor: try $0.decode(at: 17),
                                       supportEmail: try $0.decode(at: 18), supportURL: try $0.decode(at: 19),
                                       privacyPolicyURL: try $0.decode(at: 20)))
        }
    }

    /// The token was a session's link until the account asked for a fresh one.
    static func wasReplaced(token: String, on connection: Connection) throws -> Bool {
        try connection.sql("SELECT true FROM onboarding_retired_links WHERE token_hash = \(Digest.sha256(token))").first != nil
    }

    /// The branding of the account whose link `token` was, and the session's locale, when it
    /// was replaced by a newer one: its page says so in the account's name and the session's
    /// language, and says whom to ask.
    static func replacedBranding(token: String, on connection: Connection) throws -> (branding: PageBranding, locale: String?)? {
        try connection.sql("""
            SELECT a.display_name, a.logo_url, a.brand_color, a.support_email, a.support_url, a.privacy_policy_url, s.locale
            FROM onboarding_retired_links r JOIN onboarding_sessions s ON s.id = r.session_id JOIN accounts a ON a.id = s.account_id
            WHERE r.token_hash = \(Digest.sha256(token))
            """).first.map {
            (PageBranding(displayName: try $0.decode(at: 0), logoURL: try $0.decode(at: 1), brandColor: try $0.decode(at: 2),
                          supportEmail: try $0.decode(at: 3), supportURL: try $0.decode(at: 4), privacyPolicyURL: try $0.decode(at: 5)),
             try $0.decode(String?.self, at: 6))
        }
    }

    /// Open for the browser: not finished and not past its expiry. A session the person
    /// cancelled in Meta's window can be started again from its link; one the account
    /// cancelled through the API cannot.
    var isOpen: Bool { isUnfinished && !expired }

    var isUnfinished: Bool { OnboardingSession.isUnfinished(status: status, cancelledBy: cancelledBy) }

    /// Nobody has completed, failed or finally cancelled it: a person's own cancel in Meta's
    /// window can be taken back; the account's cannot.
    static func isUnfinished(status: String, cancelledBy: String?) -> Bool {
        status == "created" || status == "opened" || (status == "cancelled" && cancelledBy == "end_user")
    }

    /// An unfinished session past its expiry is expired, whether or not the sweep ran yet.
    var effectiveStatus: String {
        expired && (status == "created" || status == "opened") ? "expired" : status
    }

    /// Where the browser goes once the session has ended, or nil while it has not.
    var redirectURL: String? {
        switch effectiveStatus {
        case "completed": OnboardingSession.url(successURL, ["sessionId": id, "status": "completed"])
        // The WABA is connected; its number will follow (API.md: awaiting_number).
        case "awaiting_number": OnboardingSession.url(successURL, ["sessionId": id, "status": "awaiting_number"])
        case "failed", "expired":
            OnboardingSession.url(failureURL, ["sessionId": id, "status": "failed", "reason": failureReason ?? effectiveStatus])
        case "cancelled": OnboardingSession.url(cancelURL, ["sessionId": id, "status": "cancelled"])
        default: nil
        }
    }

    static func url(_ base: String, _ parameters: [String: String]) -> String {
        guard var components = URLComponents(string: base) else { return base }
        // Ours replace any of the same name the account's URL has (a second `status` would leave
        // its reader guessing), in the order API.md writes them: sessionId, status, reason. The
        // account's own pairs keep their bytes: decoded and written again, `%2B` became a `+`
        // that most readers take for a space.
        let order = ["sessionId", "status", "reason"]
        let ours = parameters.sorted { (order.firstIndex(of: $0.key) ?? order.count, $0.key) < (order.firstIndex(of: $1.key) ?? order.count, $1.key) }
        let kept = (components.percentEncodedQuery ?? "").split(separator: "&").filter { pair in
            let name = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            return parameters[String(name).removingPercentEncoding ?? String(name)] == nil
        }.map(String.init)
        components.percentEncodedQuery = (kept + ours.map { "\($0.key)=\(OnboardingSession.queryEscaped($0.value))" }).joined(separator: "&")
        return components.string ?? base
    }

    /// A query value with everything but RFC 3986's unreserved characters escaped.
    static func queryEscaped(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// `onboarding.*` event data: the tenant, the session and the account's metadata.
    func eventData(_ extra: [String: String] = [:]) -> String {
        var fields: [String: Any?] = ["tenantId": tenantID, "sessionId": id]
        for (key, value) in extra { fields[key] = value }
        return Outbox.data(fields, metadataJSON: metadataJSON)
    }
}
