import Crypto
import Foundation
import HTTPClient
import HTTPServer

/// Where Meta sends a WABA's webhooks, and how the app changes it. The rules follow Meta's
/// "Webhook overrides" page
/// (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/override):
/// * an override needs the app subscribed to the WABA first (error 100);
/// * Meta verifies an override URL before accepting it (error 2200 when it does not answer);
/// * a plain `POST /{waba}/subscribed_apps`, "without post body parameters, removes the
///   alternate callback URL from the WABA";
/// * a number's own override (`webhook_configuration`) wins over the WABA's, which wins over
///   the app's callback, for the fields an override captures; template and account fields always
///   go to the app's callback.
/// The simulator decides all of this itself; it never asks product code what Meta would do.
extension FakeMeta {
    /// The fields an override captures (the override page's list). Everything else (templates,
    /// quality, account updates) stays on the app's callback.
    static let overriddenFields: Set<String> = [
        "messages", "message_echoes", "calls", "consumer_profile", "messaging_handovers", "standby",
        "group_lifecycle_update", "group_participants_update", "group_settings_update", "group_status_update",
        "smb_message_echoes", "smb_app_state_sync", "history", "account_settings_update",
    ]

    /// `POST /{waba}/subscribed_apps`: plain, it subscribes the app and clears the WABA's
    /// override; with `override_callback_uri` and `verify_token` it sets the override.
    func subscribe(wabaID: String, tokenWABA: String, form: [String: String]) -> Response {
        guard let callback = form["override_callback_uri"] else {
            return withWABA(wabaID, token: tokenWABA, change: {
                $0.subscribed = true
                $0.overrideCallbackURI = nil
                $0.overrideVerifyToken = nil
            }) { _, _ in .json(200, ["success": true]) }
        }
        let subscribed = state.withLock { $0.wabas[wabaID]?.subscribed ?? false }
        guard subscribed else {
            return FakeMeta.error(400, 100, "(#100) Before override the current callback uri, your app must be subscribed to receive messages for WhatsApp Business Account")
        }
        if let refusal = overrideRefusal(callback: callback, verifyToken: form["verify_token"]) { return refusal }
        return withWABA(wabaID, token: tokenWABA, change: { $0.overrideCallbackURI = callback; $0.overrideVerifyToken = form["verify_token"] }) { _, _ in
            .json(200, ["success": true])
        }
    }

    /// `GET /{waba}/subscribed_apps`: the apps subscribed, each with the WABA's override.
    func subscriptions(wabaID: String, tokenWABA: String) -> Response {
        let appID = configuration.appID
        return withWABA(wabaID, token: tokenWABA) { waba, _ in
            guard waba.subscribed else { return .json(200, ["data": [[String: AnyEncodable]]()]) }
            var app: [String: AnyEncodable] = [
                "whatsapp_business_api_data": AnyEncodable(["id": appID, "link": "https://www.facebook.com/games/?app_id=\(appID)",
                                                            "name": "Dualhook (simulated)"]),
            ]
            if let uri = waba.overrideCallbackURI { app["override_callback_uri"] = AnyEncodable(uri) }
            return .json(200, ["data": [app]])
        }
    }

    /// `POST /{phone}` with `webhook_configuration {override_callback_uri, verify_token}`: the
    /// number's own override; an empty `override_callback_uri` removes it. Meta needs the app
    /// subscribed to the number's WABA first and verifies external URLs
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/reference/whatsapp-business-phone-number/whatsapp-business-account-phone-number-api).
    func configurePhone(_ id: String, tokenWABA: String, request: Request) -> Response {
        guard let configuration = FakeMeta.objectParameter("webhook_configuration", of: request) else {
            return FakeMeta.error(400, 100, "(#100) The parameter webhook_configuration is required")
        }
        guard let callback = configuration["override_callback_uri"] as? String else {
            return FakeMeta.error(400, 100, "(#100) Param webhook_configuration[override_callback_uri] is required")
        }
        let subscribed = state.withLock { s in s.phones[id].flatMap { s.wabas[$0.wabaID]?.subscribed } ?? false }
        guard subscribed else {
            return FakeMeta.error(400, 100, "(#100) Webhook subscription must exist before configuring callback URI overrides")
        }
        let verifyToken = configuration["verify_token"] as? String
        if !callback.isEmpty, let refusal = overrideRefusal(callback: callback, verifyToken: verifyToken) { return refusal }
        return withPhone(id, token: tokenWABA, change: { phone in
            phone.overrideCallbackURI = callback.isEmpty ? nil : callback
            phone.overrideVerifyToken = callback.isEmpty ? nil : verifyToken
            return nil
        }) { _ in .json(200, ["success": true]) }
    }

    /// `webhook_configuration` as `GET /{phone}?fields=webhook_configuration` shows it: each
    /// level that has a URL (`whatsapp_business_account` only when the WABA has an override).
    static func webhookConfiguration(_ phone: FakeMetaState.Phone, in s: FakeMetaState) -> [String: String] {
        var out: [String: String] = [:]
        if let uri = phone.overrideCallbackURI { out["phone_number"] = uri }
        if let uri = s.wabas[phone.wabaID]?.overrideCallbackURI { out["whatsapp_business_account"] = uri }
        if let uri = s.appCallbackURL { out["application"] = uri }
        return out
    }

    /// Where Meta sends a change of `field` for the WABA (and number): nil when nowhere. Only
    /// to an app subscribed to the WABA: "We only send notifications if your webhooks-configured
    /// app is subscribed to webhooks on a given WABA"
    /// (https://developers.facebook.com/docs/graph-api/webhooks/getting-started/webhooks-for-whatsapp).
    /// `account_update` is let through unsubscribed: it also tells the partner that the
    /// relationship ended (`PARTNER_APP_UNINSTALLED`, `PARTNER_REMOVED`), which happens as the
    /// subscription ends, and Meta does not say how that one is delivered.
    static func route(field: String, waba: FakeMetaState.WABA, phone: FakeMetaState.Phone?, in s: FakeMetaState) -> String? {
        guard waba.subscribed || field == "account_update" else { return nil }
        guard overriddenFields.contains(field) else { return s.appCallbackURL }
        return phone?.overrideCallbackURI ?? waba.overrideCallbackURI ?? s.appCallbackURL
    }

    /// Meta's verification request before it accepts a callback URL
    /// (https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests):
    /// a GET with `hub.mode=subscribe`, `hub.challenge` (an integer) and `hub.verify_token`,
    /// which must be answered 200 with the challenge and nothing else. Refused: error 2200.
    func overrideRefusal(callback: String, verifyToken: String?) -> Response? {
        guard let verifyToken, !verifyToken.isEmpty else {
            return FakeMeta.error(400, 100, "(#100) The parameter verify_token is required")
        }
        guard callback.count <= 200, let url = URL(string: callback), url.host != nil,
              ["http", "https"].contains(url.scheme ?? "") else {
            return FakeMeta.error(400, 100, "(#100) Param override_callback_uri must be a valid URL of at most 200 characters")
        }
        let challenge = String(Int.random(in: 1_000_000_000...2_000_000_000))
        let query = [("hub.mode", "subscribe"), ("hub.challenge", challenge), ("hub.verify_token", verifyToken)]
            .map { "\(FakeMeta.percentEncode($0.0))=\(FakeMeta.percentEncode($0.1))" }.joined(separator: "&")
        let target = callback + (callback.contains("?") ? "&" : "?") + query
        let answer = try? http.send(.init(url: target), deadline: Date().addingTimeInterval(5))
        guard let answer else {
            return FakeMeta.error(400, 2200, "Callback verification failed with the following errors: curl_errno = 7; curl_error = Couldn't connect to server")
        }
        guard answer.status == 200, String(decoding: answer.body, as: UTF8.self) == challenge else {
            return FakeMeta.error(400, 2200, "Callback verification failed with the following errors: HTTP Status Code = \(answer.status); HTTP Message = \(answer.status == 200 ? "The challenge was not echoed" : "Error")")
        }
        return nil
    }

    /// An object parameter as the Graph API takes it: in a JSON body, or as a form field whose
    /// value is JSON.
    static func objectParameter(_ name: String, of request: Request) -> [String: Any]? {
        if (request.header("Content-Type") ?? "").hasPrefix("application/json") {
            let body = (try? JSONSerialization.jsonObject(with: request.body)) as? [String: Any]
            return body?[name] as? [String: Any]
        }
        guard let text = form(request)[name] else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
    static func percentEncode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text }
}
