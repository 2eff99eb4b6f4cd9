import Foundation
import HTTPClient

/// Graph API's error envelope, `{"error":{"message","type","code","error_subcode","is_transient",
/// "error_user_msg","error_data":{"details"},"fbtrace_id"}}`
/// (https://developers.facebook.com/docs/graph-api/guides/error-handling), with the wait Meta's
/// rate-limit headers announce.
public struct GraphError: Error, Sendable, Equatable, CustomStringConvertible {
    public let httpStatus: Int
    public let code: Int
    public let subcode: Int?
    public let type: String?
    public let message: String
    public let fbtraceID: String?
    /// Meta's own word that the same call may work later (`is_transient`).
    public var metaSaysTransient: Bool? = nil
    /// `error_data.details`: WhatsApp's explanation (Meta: build error handling "around `code`
    /// values and `details`", https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes).
    public var details: String? = nil
    /// How long Meta says the caller stays throttled: the largest
    /// `estimated_time_to_regain_access` (minutes) of `X-Business-Use-Case-Usage`, or a
    /// `Retry-After` (seconds) (https://developers.facebook.com/docs/graph-api/overview/rate-limiting/).
    public var retryAfter: TimeInterval? = nil

    /// 190 (or 102, "API Session", without a subcode): the access token expired, was revoked,
    /// or the app lost its permissions; Meta: "Get a new access token"
    /// (https://developers.facebook.com/docs/graph-api/guides/error-handling).
    public var isTokenInvalid: Bool { code == 190 || (code == 102 && subcode == nil) }
    /// 190 with subcode 463: the token expired, rather than being revoked
    /// (https://developers.facebook.com/docs/facebook-login/guides/access-tokens/debugging-and-error-handling).
    public var isTokenExpired: Bool { code == 190 && subcode == 463 }
    /// 133016: more than 10 register or deregister requests for the number within 72 hours;
    /// Meta refuses registration until the window has passed
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/registration).
    public var isRegisterLimit: Bool { code == 133016 }
    /// The number has a two-step verification PIN of its own, not the one given (133005,
    /// https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes).
    public var isTwoStepPINMismatch: Bool { code == 133005 }
    /// Coexistence sync (https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes):
    /// 2593107, this sync was already requested (it works once); 2593108, the 24 hours after
    /// onboarding have passed.
    public var isSyncAlreadyRequested: Bool { code == 2593107 }
    public var isSyncWindowClosed: Bool { code == 2593108 }
    /// Throttling: application (4), user (17), page (32), application limit (341), custom (613)
    /// (https://developers.facebook.com/docs/graph-api/guides/error-handling), WhatsApp business
    /// use case (80007), Cloud API (130429, 131056)
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes); a bare 429.
    public var isRateLimited: Bool { [4, 17, 32, 341, 613, 80007, 130429, 131056].contains(code) || (code == -1 && httpStatus == 429) }
    /// How long to wait before the same call can work, when Meta's answer says it must wait: a
    /// rate limit (its headers' wait, else 30 s), or 133015, a number deleted moments ago that
    /// cannot be registered yet ("Wait 5 minutes before re-trying the request",
    /// https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes).
    public var waitBeforeRetry: TimeInterval? {
        if isRateLimited { return max(retryAfter ?? 30, 5) }
        if code == 133015 { return 300 }
        return nil
    }

    /// The app's own id or secret refused at the code exchange: 101, "Error validating
    /// application. Invalid application ID.", or code 1 with "Error validating client secret."
    /// Meta's pages do not list these answers; they are Graph's as its users report them
    /// (https://github.com/facebookarchive/php-graph-sdk/issues/538). Code 1 is otherwise
    /// "possibly a temporary issue"
    /// (https://developers.facebook.com/docs/graph-api/guides/error-handling). No retry helps:
    /// the configuration is wrong. Meta's 101 "Cannot get application info due to a system
    /// error" is a passing fault, not a refusal.
    public var isAppRejected: Bool {
        (code == 101 && !message.contains("system error")) || (code == 1 && message.hasPrefix("Error validating client secret"))
    }

    /// A capability or permission Meta withholds (3, 10, 200–299): no retry changes it, whatever
    /// the HTTP status (code 3 comes with a 500).
    public var isPermission: Bool { code == 3 || code == 10 || (200...299).contains(code) }
    /// Worth retrying as is: an unknown or service error (1, 2), a rate limit, Meta's
    /// `is_transient`, or a 5xx that is not a permission refused.
    public var isTransient: Bool {
        if isPermission || isTokenInvalid || isAppRejected { return false }
        return code == 1 || code == 2 || isRateLimited || metaSaysTransient == true || httpStatus >= 500
    }

    public var description: String {
        var text = "Graph error \(code)"
        if let subcode { text += "/\(subcode)" }
        text += " (HTTP \(httpStatus)): \(message)"
        if let details, !details.isEmpty, details != message { text += " — \(details)" }
        if let retryAfter { text += " (throttled for about \(Int(retryAfter.rounded())) s)" }
        if let fbtraceID { text += " [fbtrace \(fbtraceID)]" }
        return text
    }

    struct Envelope: Decodable {
        struct Body: Decodable {
            struct Data: Decodable { let details: String? }
            let message: String?
            let type: String?
            let code: Int?
            let error_subcode: Int?
            let fbtrace_id: String?
            let is_transient: Bool?
            let error_data: Data?
        }
        let error: Body
    }

    /// The error of a non-2xx answer (a body that is not Graph's envelope still becomes one).
    /// `headers` by lower-cased name.
    static func decode(status: Int, body: Data, headers: [String: String] = [:]) -> GraphError {
        var error: GraphError
        if let envelope = try? JSONDecoder().decode(Envelope.self, from: body) {
            error = GraphError(httpStatus: status, code: envelope.error.code ?? -1, subcode: envelope.error.error_subcode,
                               type: envelope.error.type, message: envelope.error.message ?? "no message",
                               fbtraceID: envelope.error.fbtrace_id)
            error.metaSaysTransient = envelope.error.is_transient
            error.details = envelope.error.error_data?.details
        } else {
            error = GraphError(httpStatus: status, code: -1, subcode: nil, type: nil,
                               message: "HTTP \(status) without a Graph error body", fbtraceID: nil)
        }
        error.retryAfter = throttledFor(headers)
        return error
    }

    /// Seconds until Meta lets calls through again, from the answer's headers: the largest
    /// `estimated_time_to_regain_access` (minutes) among `X-Business-Use-Case-Usage`'s entries
    /// (`{"<business id>":[{"type","call_count","total_cputime","total_time","estimated_time_to_regain_access"}]}`),
    /// else a `Retry-After` in seconds.
    static func throttledFor(_ headers: [String: String]) -> TimeInterval? {
        if let usage = headers["x-business-use-case-usage"],
           let objects = (try? JSONSerialization.jsonObject(with: Data(usage.utf8))) as? [String: Any] {
            let minutes = objects.values.compactMap { $0 as? [[String: Any]] }.joined()
                .compactMap { ($0["estimated_time_to_regain_access"] as? NSNumber)?.doubleValue }
            // Whole minutes: 0 is "less than one", not "now" (retrying every second while
            // throttled keeps the caller throttled).
            if let most = minutes.max() { return most > 0 ? most * 60 : 15 }
        }
        if let seconds = headers["retry-after"].flatMap(HTTPClient.Response.retryAfter), seconds > 0 { return seconds }
        return nil
    }
}
