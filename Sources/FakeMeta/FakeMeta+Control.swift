import Crypto
import Foundation
import HTTPClient
import HTTPServer

/// `/_fake/…`: what a test or a developer does in place of a person in Meta's UI.
extension FakeMeta {
    func control(_ request: Request, _ path: [String]) -> Response {
        // Before the body is parsed: the receiver keeps what it is sent as text.
        if path.first == "receiver" { return receiver(request) }
        let body = (try? JSONSerialization.jsonObject(with: request.body.isEmpty ? Data("{}".utf8) : request.body)) as? [String: Any]
        switch (request.method, path.count, path.first) {
        case ("POST", 1, "signup"):
            guard let body else { return .json(400, ["error": "body must be a JSON object"]) }
            return signup(body)
        case ("POST", 2, "phones"):
            guard let body else { return .json(400, ["error": "body must be a JSON object"]) }
            return changePhone(path[1], body)
        case ("POST", 3, "wabas") where path[2] == "phones":
            guard let body else { return .json(400, ["error": "body must be a JSON object"]) }
            return addPhone(waba: path[1], body)
        case ("POST", 1, "emit"):
            guard let body else { return .json(400, ["error": "body must be a JSON object"]) }
            return emit(body)
        case ("POST", 1, "app"):
            guard let body, let url = body["callbackUrl"] as? String else { return .json(400, ["error": "callbackUrl is required"]) }
            state.withLock { $0.appCallbackURL = url }
            return .json(200, ["callbackUrl": url])
        case ("POST", 1, "faults"):
            guard let body, let match = body["match"] as? String else { return .json(400, ["error": "match is required"]) }
            var fault: FakeMetaState.Fault
            if let preset = body["preset"] as? String {
                guard let made = FakeMeta.presetFault(preset, match: match, times: body["times"] as? Int ?? 1,
                                                      regainMinutes: body["regainMinutes"] as? Int ?? 0) else {
                    return .json(400, ["error": "unknown preset \(preset) (known: \(FakeMeta.faultPresets.joined(separator: ", ")))"])
                }
                fault = made
            } else {
                let errorBody = (body["body"] as? [String: Any]).flatMap { try? JSONSerialization.data(withJSONObject: $0) }
                fault = FakeMetaState.Fault(match: match, status: body["status"] as? Int ?? 0, body: errorBody,
                                            times: body["times"] as? Int ?? 1, delayMs: body["delayMs"] as? Int ?? 0)
            }
            if let headers = body["headers"] as? [String: String] { fault.headers += headers.sorted { $0.key < $1.key } }
            state.withLock { $0.faults.append(fault) }
            return .json(200, ["ok": true])
        case ("POST", 3, "wabas") where path[2] == "revoke":
            // The business removed the app's access: every token of the WABA stops working (190).
            let revoked = state.withLock { s -> Int in
                let tokens = s.tokens.filter { $0.value == path[1] }.map(\.key)
                for token in tokens { s.tokens.removeValue(forKey: token) }
                return tokens.count
            }
            return .json(200, ["revoked": revoked])
        case ("GET", 1, "popup"):
            return popup(request)
        case ("GET", 1, "state"):
            return stateSnapshot()
        case ("POST", 1, "deliver"):
            guard let body, let target = body["target"] as? String, let payload = body["body"],
                  let data = try? JSONSerialization.data(withJSONObject: payload) else {
                return .json(400, ["error": "target and body are required"])
            }
            do {
                return .json(200, ["status": try signedPost(data, to: target)])
            } catch {
                return .json(502, ["error": "\(error)"])
            }
        default:
            return .json(404, ["error": "unknown control route"])
        }
    }

    /// What a finished Embedded Signup yields: a fresh code for a WABA and, unless the flow
    /// was `FINISH_ONLY_WABA` (the business shares its WABA and adds a number later), a number.
    /// `verified: false` makes a number whose ownership is not verified yet; `tokenExpiresIn`
    /// makes the exchanged token expire.
    func signup(_ body: [String: Any]) -> Response {
        let mode = body["mode"] as? String ?? "cloud_api"
        guard ["cloud_api", "coexistence", "unknown"].contains(mode) else {
            return .json(400, ["error": "mode must be cloud_api, coexistence or unknown"])
        }
        let finish = body["finish"] as? String ?? (mode == "coexistence" ? "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING" : "FINISH")
        guard ["FINISH", "FINISH_ONLY_WABA", "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"].contains(finish) else {
            return .json(400, ["error": "finish must be FINISH, FINISH_ONLY_WABA or FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"])
        }
        let verified = body["verified"] as? Bool ?? true
        let lifetime = body["tokenExpiresIn"] as? Int
        let result = state.withLock { s -> [String: String] in
            let wabaID = body["wabaId"] as? String ?? s.makeID()
            var waba = s.wabas[wabaID] ?? FakeMetaState.WABA(id: wabaID)
            s.wabas[wabaID] = waba
            var phoneID: String?
            if finish != "FINISH_ONLY_WABA" {
                let id = body["phoneNumberId"] as? String ?? s.makeID()
                if s.phones[id] == nil {
                    s.phones[id] = FakeMeta.newPhone(id, waba: wabaID, mode: mode, verified: verified)
                    waba.phoneIDs.append(id)
                    s.wabas[wabaID] = waba
                }
                phoneID = id
            }
            let businessID = s.makeID()
            let code = "AQ" + SecureRandom.base62(60)
            s.codes[code] = .init(wabaID: wabaID, businessID: businessID, issuedAt: Date(), used: false, tokenLifetime: lifetime)
            var out = ["code": code, "wabaId": wabaID, "businessId": businessID, "finish": finish]
            if let phoneID { out["phoneNumberId"] = phoneID }
            return out
        }
        announceInstall(waba: result["wabaId"]!, business: result["businessId"]!)
        return .json(200, result)
    }

    /// Meta tells the app each time a business finishes Embedded Signup: "You must be subscribed
    /// to the account_update webhook, as this webhook is triggered whenever a customer
    /// successfully completes the Embedded Signup flow"
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/implementation/).
    /// The business granted the app its WABA, so the event is `PARTNER_APP_INSTALLED` with the
    /// customer's WABA, business and the app in `waba_info`
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/account_update).
    /// `account_update` no override captures: it goes to the app's callback, on its own thread
    /// after the signup (Meta sends it in its own time, not within the flow), and again until
    /// answered 200.
    func announceInstall(waba: String, business: String) {
        // Ids a test chose (`wabaId`) are written as JSON strings, whatever they hold.
        let info = ["waba_id": waba, "owner_business_id": business, "partner_app_id": configuration.appID]
        guard let infoJSON = try? JSONSerialization.data(withJSONObject: info, options: [.sortedKeys]) else { return }
        let value = #"{"event":"PARTNER_APP_INSTALLED","waba_info":\#(FakeMeta.escapingNonASCII(String(decoding: infoJSON, as: UTF8.self)))}"#
        let target = state.withLock { s in s.wabas[waba].flatMap { FakeMeta.route(field: "account_update", waba: $0, phone: nil, in: s) } }
        guard let target else { return }
        let thread = Thread { [self] in _ = deliver(entryID: waba, field: "account_update", valueText: value, to: target) }
        thread.name = "install-webhook"
        thread.start()
    }

    static func newPhone(_ id: String, waba: String, mode: String, verified: Bool) -> FakeMetaState.Phone {
        let suffix = String(id.suffix(4))
        var phone = FakeMetaState.Phone(id: id, wabaID: waba, displayPhoneNumber: "+1 555-010-\(suffix)",
                                        verifiedName: "Business \(suffix)", mode: mode)
        phone.verified = verified
        return phone
    }

    /// A number appears on a WABA after signup (the business added it later).
    func addPhone(waba wabaID: String, _ body: [String: Any]) -> Response {
        let mode = body["mode"] as? String ?? "cloud_api"
        guard ["cloud_api", "coexistence", "unknown"].contains(mode) else {
            return .json(400, ["error": "mode must be cloud_api, coexistence or unknown"])
        }
        return state.withLock { s -> Response in
            guard var waba = s.wabas[wabaID] else { return .json(404, ["error": "no WABA \(wabaID)"]) }
            let id = s.makeID()
            s.phones[id] = FakeMeta.newPhone(id, waba: wabaID, mode: mode, verified: body["verified"] as? Bool ?? true)
            waba.phoneIDs.append(id)
            s.wabas[wabaID] = waba
            return .json(201, ["phoneNumberId": id])
        }
    }

    func changePhone(_ id: String, _ body: [String: Any]) -> Response {
        state.withLock { s -> Response in
            guard var phone = s.phones[id] else { return .json(404, ["error": "no phone \(id)"]) }
            if let quality = body["qualityRating"] as? String { phone.qualityRating = quality }
            if let health = body["healthStatus"] as? String { phone.healthStatus = health }
            if let mode = body["mode"] as? String { phone.mode = mode }
            if let verified = body["verified"] as? Bool { phone.verified = verified }
            if let limit = body["messagingLimit"] as? String { phone.messagingLimit = limit }
            // The business turned on two-step verification with a PIN of its own.
            if let pin = body["twoStepPin"] as? String { phone.pin = pin }
            if let errors = body["healthErrors"] as? [[String: Any]] {
                phone.healthErrors = errors.map { .init(code: $0["code"] as? Int ?? 0, description: $0["description"] as? String ?? "") }
            }
            if let ago = body["onboardedSecondsAgo"] as? Int { phone.onboardedAt = Date().addingTimeInterval(-TimeInterval(ago)) }
            s.phones[id] = phone
            return .json(200, FakeMeta.fields(phone, in: s))
        }
    }

    /// Meta sends a webhook change: routed as Meta routes it (`FakeMeta.route`), in Meta's
    /// envelope, signed with the app secret as `X-Hub-Signature-256`
    /// (https://developers.facebook.com/docs/graph-api/webhooks/getting-started#event-notifications).
    func emit(_ body: [String: Any]) -> Response {
        guard let wabaID = body["wabaId"] as? String, let field = body["field"] as? String else {
            return .json(400, ["error": "wabaId, field and value (or valueText) are required"])
        }
        // `valueText`: the value's JSON exactly as Meta is to write it (spacing, key order, escapes).
        let valueText: String
        if let text = body["valueText"] as? String {
            guard (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil else {
                return .json(400, ["error": "valueText is not JSON"])
            }
            valueText = text
        } else if let value = body["value"], let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) {
            valueText = FakeMeta.escapingNonASCII(String(decoding: data, as: UTF8.self))
        } else {
            return .json(400, ["error": "wabaId, field and value (or valueText) are required"])
        }
        let phoneID = body["phoneNumberId"] as? String
        let target = state.withLock { s -> Result<String?, FakeControlError> in
            guard let waba = s.wabas[wabaID] else { return .failure(.init("no WABA \(wabaID)")) }
            let phone = phoneID.flatMap { s.phones[$0] }
            if phoneID != nil && phone?.wabaID != wabaID { return .failure(.init("no phone \(phoneID!) on WABA \(wabaID)")) }
            return .success(FakeMeta.route(field: field, waba: waba, phone: phone, in: s))
        }
        let url: String
        switch target {
        case .failure(let error): return .json(404, ["error": error.message])
        case .success(nil): return .json(200, ["target": AnyEncodable(String?.none), "status": AnyEncodable(Int?.none)])
        case .success(let found?): url = found
        }
        // The entry's id is the WABA, except where Meta names another object (a partner's
        // business for some `account_update`s): `entryId`.
        let sent = deliver(entryID: body["entryId"] as? String ?? wabaID, field: field, valueText: valueText, to: url)
        var answer: [String: AnyEncodable] = ["target": AnyEncodable(url), "status": AnyEncodable(sent.status), "sent": AnyEncodable(sent.envelope),
                                              "redelivering": AnyEncodable(sent.status != 200)]
        if let failure = sent.failure { answer["error"] = AnyEncodable(failure) }
        return .json(200, answer)
    }

    /// One change in Meta's envelope, POSTed signed to `url`, and delivered again until
    /// answered 200 (`redeliver`). Answers the status (0: no answer), why, and the envelope.
    func deliver(entryID: String, field: String, valueText: String, to url: String) -> (status: Int, failure: String?, envelope: String) {
        let quote = { (text: String) in String(decoding: (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed])) ?? Data(), as: UTF8.self) }
        let envelope = #"{"object":"whatsapp_business_account","entry":[{"id":\#(quote(entryID)),"time":\#(Int(Date().timeIntervalSince1970)),"changes":[{"value":\#(valueText),"field":\#(quote(field))}]}]}"#
        let delivery = Data(envelope.utf8)
        let status: Int
        var failure: String?
        do {
            status = try signedPost(delivery, to: url)
        } catch {
            status = 0
            failure = "\(error)"
        }
        if status != 200 { redeliver(delivery, to: url) }
        return (status, failure, envelope)
    }

    /// JSON text as Meta writes a payload: every character beyond ASCII as `\uXXXX` (UTF-16
    /// units), which is also what its signature covers: "the raw escaped unicode version of the
    /// payload … äöå will be escaped to \u00e4\u00f6\u00e5"
    /// (https://developers.facebook.com/docs/messenger-platform/webhook/#security). Outside
    /// strings JSON has no such character, so the whole text is escaped as one.
    static func escapingNonASCII(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.isASCII { out.unicodeScalars.append(scalar); continue }
            for unit in String(scalar).utf16 {
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out
    }

    /// Meta delivers a change again until it is answered 200: "If a notification isn't
    /// delivered for any reason or if the webhook request returns a HTTP status code other than
    /// 200, we retry delivery. We continue retrying delivery with increasing delays up to a
    /// certain timeout (typically 24 hours, though this may vary), or until the delivery
    /// succeeds" (https://developers.facebook.com/docs/whatsapp/api/webhooks). The same bytes,
    /// signed the same, on a thread of their own; the delays are Meta's shape compressed into
    /// `redeliveryDelays` (about two minutes in all), so a test sees them.
    func redeliver(_ body: Data, to url: String) {
        let delays = configuration.redeliveryDelays
        guard !delays.isEmpty else { return }
        state.withLock { $0.redeliveriesPending += 1 }
        let thread = Thread { [self] in
            defer { state.withLock { $0.redeliveriesPending -= 1 } }
            for delay in delays {
                Thread.sleep(forTimeInterval: delay)
                let status = (try? signedPost(body, to: url)) ?? 0
                state.withLock { $0.redeliveries += 1 }
                if status == 200 { return }
            }
        }
        thread.name = "redelivery"
        thread.start()
    }

    /// POSTs a body as Meta delivers webhooks: signed with the app secret as
    /// `X-Hub-Signature-256` (https://developers.facebook.com/docs/graph-api/webhooks/getting-started#event-notifications).
    func signedPost(_ body: Data, to url: String) throws -> Int {
        let signature = "sha256=" + Digest.hmacSHA256(key: Data(configuration.appSecret.utf8), message: body).hexString
        return try http.send(.init(method: "POST", url: url, headers: [("Content-Type", "application/json"), ("X-Hub-Signature-256", signature)],
                                   body: body), deadline: Date().addingTimeInterval(15)).status
    }

    /// The state is copied under the lock (its arrays and dictionaries copy on write: a
    /// reference each) and encoded after it, so a long list of calls does not hold up every
    /// handler while it is written out.
    func stateSnapshot() -> Response {
        let s = state.withLock { $0 }
        var wabas: [String: AnyEncodable] = [:]
        for (id, waba) in s.wabas {
            wabas[id] = AnyEncodable([
                "subscribed": AnyEncodable(waba.subscribed),
                "overrideCallbackUri": AnyEncodable(waba.overrideCallbackURI),
                "overrideVerifyToken": AnyEncodable(waba.overrideVerifyToken),
                "phones": AnyEncodable(waba.phoneIDs.compactMap { s.phones[$0] }.map { phone in
                    [
                        "id": AnyEncodable(phone.id), "mode": AnyEncodable(phone.mode), "verified": AnyEncodable(phone.verified),
                        "registered": AnyEncodable(phone.registered), "registerCalls": AnyEncodable(phone.registerCalls.count),
                        "registerBlockedUntil": AnyEncodable(phone.registerBlockedUntil.map { Int($0.timeIntervalSince1970) }),
                        "twoStepPin": AnyEncodable(phone.pin),
                        "syncRequests": AnyEncodable(phone.syncRequests),
                        "qualityRating": AnyEncodable(phone.qualityRating), "healthStatus": AnyEncodable(phone.healthStatus),
                        "webhookConfiguration": AnyEncodable(phone.overrideCallbackURI.map { ["overrideCallbackUri": $0] }),
                    ]
                }),
            ])
        }
        let calls = s.calls.map { ["method": $0.method, "path": $0.path, "at": Response.timestamp($0.at)] }
        let received = s.received.map { ["path": $0.path, "at": Response.timestamp($0.at), "event": $0.event ?? "", "body": $0.body] }
        return .json(200, ["wabas": AnyEncodable(wabas), "calls": AnyEncodable(calls), "received": AnyEncodable(received),
                           "appCallbackUrl": AnyEncodable(s.appCallbackURL), "sdkLocales": AnyEncodable(s.sdkLocales),
                           "redeliveries": AnyEncodable(s.redeliveries), "redeliveriesPending": AnyEncodable(s.redeliveriesPending)])
    }
}

struct FakeControlError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
