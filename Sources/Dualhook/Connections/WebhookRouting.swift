import Foundation
import Meta

/// Where Meta sends a WABA's or a number's webhooks, changed so that a refusal never leaves the
/// tenant without its override, and read back from Meta after every change. Meta's rules
/// (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/override):
/// a plain `POST /{waba}/subscribed_apps` removes the WABA's override, so the app subscribes
/// plainly only when it is not subscribed yet; an override Meta refuses (its handshake failed,
/// 2200) leaves the one before in place; a number's own override wins over the WABA's, which
/// wins over the app's callback.
struct WebhookRouting {
    let graph: GraphClient
    let token: String
    let deadline: Date

    /// Meta accepted a change but does not show it when asked back.
    struct Mismatch: Error, CustomStringConvertible {
        let object: String
        let expected: String?
        let found: String?
        var description: String {
            "Meta shows \(found.map { "\"\($0)\"" } ?? "no override") on \(object) after setting \(expected.map { "\"\($0)\"" } ?? "none")"
        }
    }

    /// Subscribes the app to the WABA unless it already is (which would drop its override).
    func ensureSubscribed(waba: String) throws {
        if try graph.subscription(waba: waba, token: token, deadline: deadline) == nil {
            try graph.subscribe(waba: waba, token: token, deadline: deadline)
        }
    }

    /// The WABA's override, set and read back.
    func setWABAOverride(waba: String, url: String, verifyToken: String) throws {
        try ensureSubscribed(waba: waba)
        try graph.overrideCallback(waba: waba, callbackURI: url, verifyToken: verifyToken, token: token, deadline: deadline)
        let found = try graph.subscription(waba: waba, token: token, deadline: deadline)?.override_callback_uri
        guard found == url else { throw Mismatch(object: "WABA \(waba)", expected: url, found: found) }
    }

    /// One number's own override, set and read back; the WABA's is left as it is. Returns what
    /// was read back, which also says where Meta now routes the number.
    @discardableResult
    func setPhoneOverride(phone: String, waba: String, url: String, verifyToken: String) throws -> GraphClient.WebhookConfiguration {
        try ensureSubscribed(waba: waba)
        try graph.overridePhoneCallback(phone: phone, callbackURI: url, verifyToken: verifyToken, token: token, deadline: deadline)
        let found = try graph.webhookConfiguration(phone: phone, token: token, deadline: deadline)
        guard found.phone_number == url else { throw Mismatch(object: "phone number \(phone)", expected: url, found: found.phone_number) }
        return found
    }

    /// Removes a number's own override (an empty `override_callback_uri`), read back.
    func clearPhoneOverride(phone: String) throws {
        try graph.overridePhoneCallback(phone: phone, callbackURI: "", verifyToken: nil, token: token, deadline: deadline)
        let found = try graph.webhookConfiguration(phone: phone, token: token, deadline: deadline).phone_number
        guard found == nil else { throw Mismatch(object: "phone number \(phone)", expected: nil, found: found) }
    }

    /// Where Meta sends the number's webhooks now.
    func effectiveURL(phone: String) throws -> String? {
        try graph.webhookConfiguration(phone: phone, token: token, deadline: deadline).effective
    }
}

/// How far a tenant's override reaches: the whole WABA, or only the numbers of its signup.
enum WebhookScope: String, Sendable {
    case waba
    case phoneNumber = "phone_number"
}
