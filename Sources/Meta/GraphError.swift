import Foundation

/// Graph API's error envelope, `{"error":{"message","type","code","error_subcode","fbtrace_id"}}`.
public struct GraphError: Error, Sendable, Equatable, CustomStringConvertible {
    public let httpStatus: Int
    public let code: Int
    public let subcode: Int?
    public let type: String?
    public let message: String
    public let fbtraceID: String?

    /// 190: the access token expired, was revoked, or the app lost its permissions.
    public var isTokenInvalid: Bool { code == 190 }
    /// 190 with subcode 463: the token expired, rather than being revoked
    /// (https://developers.facebook.com/docs/facebook-login/guides/access-tokens/debugging-and-error-handling).
    public var isTokenExpired: Bool { code == 190 && subcode == 463 }
    /// 133016: more than 10 register or deregister requests for the number within 72 hours;
    /// Meta refuses registration until the window has passed
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/registration).
    public var isRegisterLimit: Bool { code == 133016 }
    /// Coexistence sync (https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes):
    /// 2593107, this sync was already requested (it works once); 2593108, the 24 hours after
    /// onboarding have passed.
    public var isSyncAlreadyRequested: Bool { code == 2593107 }
    public var isSyncWindowClosed: Bool { code == 2593108 }
    /// Throttling: application (4), user (17), page (32), custom (613), WhatsApp business use
    /// case (80007), Cloud API (130429, 131056).
    public var isRateLimited: Bool { [4, 17, 32, 613, 80007, 130429, 131056].contains(code) }
    /// Worth retrying as is: an unknown or service error (1, 2), a rate limit, or a 5xx.
    public var isTransient: Bool { code == 1 || code == 2 || isRateLimited || httpStatus >= 500 }

    public var description: String {
        var text = "Graph error \(code)"
        if let subcode { text += "/\(subcode)" }
        text += " (HTTP \(httpStatus)): \(message)"
        if let fbtraceID { text += " [fbtrace \(fbtraceID)]" }
        return text
    }

    struct Envelope: Decodable {
        struct Body: Decodable {
            let message: String?
            let type: String?
            let code: Int?
            let error_subcode: Int?
            let fbtrace_id: String?
        }
        let error: Body
    }

    /// The error of a non-2xx answer (a body that is not Graph's envelope still becomes one).
    static func decode(status: Int, body: Data) -> GraphError {
        if let envelope = try? JSONDecoder().decode(Envelope.self, from: body) {
            return GraphError(httpStatus: status, code: envelope.error.code ?? -1, subcode: envelope.error.error_subcode,
                              type: envelope.error.type, message: envelope.error.message ?? "no message",
                              fbtraceID: envelope.error.fbtrace_id)
        }
        return GraphError(httpStatus: status, code: -1, subcode: nil, type: nil,
                          message: "HTTP \(status) without a Graph error body", fbtraceID: nil)
    }
}
