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

    static func of(_ phone: GraphClient.PhoneNumber) -> ConnectionMode {
        if phone.is_on_biz_app == true { return .coexistence }
        if phone.platform_type == "CLOUD_API" { return .cloudAPI }
        return .unknown
    }

    /// A Cloud API number must be registered before it sends or receives; one already
    /// verified at Meta is not registered again.
    static func needsRegistration(_ phone: GraphClient.PhoneNumber) -> Bool {
        phone.code_verification_status != "VERIFIED"
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

    /// Coexistence: ask the app for its contacts, then its message history. Meta allows this
    /// once, shortly after onboarding; a refusal does not undo a working connection, so it is
    /// logged and onboarding goes on.
    static func requestSync(phone: String, graph: GraphClient, token: String, context: JobContext) {
        for type in ["smb_app_state_sync", "history"] {
            do {
                try graph.requestSync(phone: phone, type: type, token: token, deadline: context.deadline)
            } catch {
                context.logger.warning("coexistence sync request refused", ["phone_number_id": phone, "sync_type": type, "error": "\(error)"])
            }
        }
    }
}
