import Crypto
import Foundation
import JobQueue
import Meta

/// How a number reaches WhatsApp: the Cloud API alone, or Coexistence (the WhatsApp Business
/// app kept on the phone). Meta may not have settled it right after signup: `unknown`.
enum ConnectionMode: String, Sendable {
    case cloudAPI = "cloud_api"
    case coexistence
    case unknown

    /// What Meta says of the number, with what the signup expected for what Meta does not say
    /// yet: a number fresh from a Cloud API signup is `NOT_APPLICABLE` until it is registered,
    /// while a Coexistence number is `unknown` until Meta reports it on the app.
    static func of(_ phone: GraphClient.PhoneNumber, expected: ConnectionMode? = nil) -> ConnectionMode {
        if phone.is_on_biz_app == true { return .coexistence }
        if phone.platform_type == "CLOUD_API" || expected == .cloudAPI { return .cloudAPI }
        return .unknown
    }

    /// The browser's `WA_EMBEDDED_SIGNUP` event names the flow; without one, the session says.
    static func expected(event: String?, coexistenceSession: Bool) -> ConnectionMode {
        switch event {
        case "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING": .coexistence
        case "FINISH", "FINISH_ONLY_WABA": .cloudAPI
        default: coexistenceSession ? .coexistence : .cloudAPI
        }
    }

    /// A Cloud API number is registered before it sends or receives; until then Meta reports
    /// its platform as `NOT_APPLICABLE`.
    static func needsRegistration(_ phone: GraphClient.PhoneNumber) -> Bool {
        phone.platform_type != "CLOUD_API"
    }

    /// The number's two-step verification PIN, set by registration: six random digits.
    static func newPIN() -> String {
        var digits = ""
        while digits.count < 6 {
            let byte = SecureRandom.bytes(1)[0]
            if byte < 250 { digits.append(Character(String(byte % 10))) }  // 250 = 25 × 10: no bias
        }
        return digits
    }
}
