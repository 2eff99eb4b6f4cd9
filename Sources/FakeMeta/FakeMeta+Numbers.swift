import Crypto
import Foundation
import HTTPServer

/// Business phone numbers as Meta shows and changes them: their fields, registration on the
/// Cloud API, and a Coexistence number's sync requests.
extension FakeMeta {
    /// A number's fields as `GET /{phone}` answers them, only those asked for in `fields` (and
    /// `id`, which Meta always adds). After Embedded Signup a Cloud API number is
    /// `NOT_APPLICABLE` and `PENDING` until registered; a Coexistence number is on the app and
    /// on the Cloud API at once; an `unknown` one is not yet either. `code_verification_status`
    /// is `VERIFIED` or `NOT_VERIFIED`
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/solution-providers/manage-phone-numbers).
    static func fields(_ phone: FakeMetaState.Phone, in s: FakeMetaState, selecting selected: Set<String>? = nil) -> [String: AnyEncodable] {
        let live = phone.registered || phone.mode == "coexistence"
        var all: [String: AnyEncodable] = [
            "id": .init(phone.id), "display_phone_number": .init(phone.displayPhoneNumber), "verified_name": .init(phone.verifiedName),
            "quality_rating": .init(phone.qualityRating), "is_on_biz_app": .init(phone.mode == "coexistence"),
            "platform_type": .init(live ? "CLOUD_API" : "NOT_APPLICABLE"),
            "code_verification_status": .init(phone.verified ? "VERIFIED" : "NOT_VERIFIED"),
            "status": .init(phone.healthStatus == "BLOCKED" ? "BANNED" : live ? "CONNECTED" : "PENDING"),
            "health_status": .init(FakeMeta.healthStatus(phone)),
            "whatsapp_business_manager_messaging_limit": .init(phone.messagingLimit),
            "webhook_configuration": .init(webhookConfiguration(phone, in: s)),
        ]
        if let selected { all = all.filter { $0.key == "id" || selected.contains($0.key) } }
        return all
    }

    /// The first field asked for that a number does not have. Graph refuses such a request as a
    /// whole ("(#100) Tried accessing nonexisting field"), and a removed field becomes one:
    /// `messaging_limit_tier` is deprecated in favour of
    /// `whatsapp_business_manager_messaging_limit`
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/messaging-limits),
    /// so it is not served here, and a client that still asks for it fails now rather than on
    /// the version that drops it.
    static func unknownField(_ selected: Set<String>?, in s: FakeMetaState) -> String? {
        guard let selected, let any = s.phones.values.first else { return nil }
        let known = Set(fields(any, in: s).keys)
        return selected.sorted().first { !known.contains($0) }
    }

    /// `health_status` as Meta shows it for a number
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/support/health-status):
    /// the overall status, and the number, WABA, business and app entities, each with its own
    /// status and, when limited, its errors.
    static func healthStatus(_ phone: FakeMetaState.Phone) -> [String: AnyEncodable] {
        var number: [String: AnyEncodable] = ["entity_type": .init("PHONE_NUMBER"), "id": .init(phone.id),
                                              "can_send_message": .init(phone.healthStatus)]
        if !phone.healthErrors.isEmpty {
            number["errors"] = .init(phone.healthErrors.map {
                ["error_code": AnyEncodable($0.code), "error_description": AnyEncodable($0.description),
                 "possible_solution": AnyEncodable("See WhatsApp Manager.")]
            })
        }
        let others = [("WABA", phone.wabaID), ("BUSINESS", "0"), ("APP", "0")].map { type, id -> [String: AnyEncodable] in
            ["entity_type": .init(type), "id": .init(id), "can_send_message": .init("AVAILABLE")]
        }
        return ["can_send_message": .init(phone.healthStatus), "entities": .init([number] + others)]
    }

    /// `POST /{phone}/register`
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/registration):
    /// a six-digit PIN, which becomes the two-step PIN (another one later is 133005); the
    /// number's ownership verified first (133006); at most 10 requests per number in a moving
    /// 72-hour window, then none for the 72 hours after the refusal (133016). Coexistence
    /// numbers skip registration.
    func register(_ id: String, tokenWABA: String, pin: String) -> Response {
        withPhone(id, token: tokenWABA, change: { phone in
            let window = Date().addingTimeInterval(-72 * 3600)
            phone.registerCalls.removeAll { $0 < window }
            // "the number will be prevented from being registered for the next 72 hours"
            // (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/registration):
            // counted from the refusal, not from when the oldest call leaves the window.
            if phone.registerBlockedUntil.map({ $0 <= Date() }) == true { phone.registerBlockedUntil = nil }
            guard phone.registerCalls.count < 10, phone.registerBlockedUntil == nil else {
                if phone.registerBlockedUntil == nil { phone.registerBlockedUntil = Date().addingTimeInterval(72 * 3600) }
                return FakeMeta.whatsappError(133016, "Account register deregister rate limit exceeded",
                                              "Registration or Deregistration failed because there were too many attempts for this phone number in a short period of time")
            }
            phone.registerCalls.append(Date())
            guard phone.mode != "coexistence" else {
                return FakeMeta.error(400, 100, "(#100) Phone numbers onboarded to the WhatsApp Business app are not registered")
            }
            guard phone.verified else {
                return FakeMeta.whatsappError(133006, "Phone number re-verification needed", "Phone number needs to be verified before registering.")
            }
            guard pin.count == 6, pin.allSatisfy(\.isNumber) else {
                return FakeMeta.error(400, 100, "(#100) Param pin must be a 6-digit number")
            }
            if let existing = phone.pin, existing != pin {
                return FakeMeta.whatsappError(133005, "Two step verification PIN Mismatch", "Two step verification PIN incorrect.")
            }
            phone.registered = true
            phone.pin = pin
            return nil
        }) { _ in .json(200, ["success": true]) }
    }

    /// `POST /{phone}` with `pin`: sets the number's two-step verification PIN, whatever it was
    /// ("There is no endpoint to disable two-step verification",
    /// https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/two-step-verification/).
    func setTwoStepPIN(_ id: String, tokenWABA: String, pin: String) -> Response {
        withPhone(id, token: tokenWABA, change: { phone in
            guard pin.count == 6, pin.allSatisfy(\.isNumber) else {
                return FakeMeta.error(400, 100, "(#100) Param pin must be a 6-digit number")
            }
            phone.pin = pin
            return nil
        }) { _ in .json(200, ["success": true]) }
    }

    /// `POST /{phone}/smb_app_data` for a Coexistence number
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/onboarding-business-app-users):
    /// each `sync_type` once ("You can only perform this step once"; again is 2593107), within
    /// 24 hours of onboarding (2593108); the answer carries a `request_id`.
    func requestSync(_ id: String, tokenWABA: String, type: String?) -> Response {
        guard let type, ["smb_app_state_sync", "history"].contains(type) else {
            return FakeMeta.error(400, 100, "(#100) Param sync_type must be one of {smb_app_state_sync, history}")
        }
        let requestID = SecureRandom.base62(24)
        return withPhone(id, token: tokenWABA, change: { phone in
            guard phone.mode == "coexistence" else {
                return FakeMeta.error(400, 100, "(#100) The phone number is not onboarded from the WhatsApp Business app")
            }
            guard Date().timeIntervalSince(phone.onboardedAt) <= 24 * 3600 else {
                return FakeMeta.error(400, 2593108, "Synchronization request can only be made within 24 hours of onboarding.")
            }
            guard !phone.syncRequests.contains(type) else {
                return FakeMeta.error(400, 2593107, "You have exceeded the maximum number of times to call the synchronization api for this phone number.")
            }
            phone.syncRequests.append(type)
            return nil
        }) { _ in .json(200, ["messaging_product": "whatsapp", "request_id": requestID]) }
    }
}
