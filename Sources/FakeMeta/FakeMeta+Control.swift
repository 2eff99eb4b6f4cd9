import Crypto
import Foundation
import HTTPClient
import HTTPServer

/// `/_fake/…`: what a test or a developer does in place of a person in Meta's UI.
extension FakeMeta {
    func control(_ request: Request, _ path: [String]) -> Response {
        let body = (try? JSONSerialization.jsonObject(with: request.body.isEmpty ? Data("{}".utf8) : request.body)) as? [String: Any]
        if path.first == "receiver" { return receiver(request) }
        switch (request.method, path.count, path.first) {
        case ("POST", 1, "signup"):
            guard let body else { return .json(400, ["error": "body must be a JSON object"]) }
            return signup(body)
        case ("POST", 2, "phones"):
            guard let body else { return .json(400, ["error": "body must be a JSON object"]) }
            return changePhone(path[1], body)
        case ("POST", 1, "faults"):
            guard let body, let match = body["match"] as? String else { return .json(400, ["error": "match is required"]) }
            let errorBody = (body["body"] as? [String: Any]).flatMap { try? JSONSerialization.data(withJSONObject: $0) }
            let fault = FakeMetaState.Fault(match: match, status: body["status"] as? Int ?? 0, body: errorBody,
                                            times: body["times"] as? Int ?? 1, delayMs: body["delayMs"] as? Int ?? 0)
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
            let signature = "sha256=" + Digest.hmacSHA256(key: Data(configuration.appSecret.utf8), message: data).hexString
            do {
                let answer = try http.send(.init(method: "POST", url: target, headers: [("Content-Type", "application/json"),
                                                                                       ("X-Hub-Signature-256", signature)], body: data),
                                           deadline: Date().addingTimeInterval(15))
                return .json(200, ["status": answer.status])
            } catch {
                return .json(502, ["error": "\(error)"])
            }
        default:
            return .json(404, ["error": "unknown control route"])
        }
    }

    /// What a finished Embedded Signup yields: a fresh code for a WABA and a phone number.
    func signup(_ body: [String: Any]) -> Response {
        let mode = body["mode"] as? String ?? "cloud_api"
        guard ["cloud_api", "coexistence", "unknown"].contains(mode) else {
            return .json(400, ["error": "mode must be cloud_api, coexistence or unknown"])
        }
        let result = state.withLock { s -> [String: String] in
            let wabaID = body["wabaId"] as? String ?? s.makeID()
            let phoneID = body["phoneNumberId"] as? String ?? s.makeID()
            var waba = s.wabas[wabaID] ?? FakeMetaState.WABA(id: wabaID)
            if s.phones[phoneID] == nil {
                let suffix = String(phoneID.suffix(4))
                s.phones[phoneID] = FakeMetaState.Phone(id: phoneID, wabaID: wabaID, displayPhoneNumber: "+1 555-010-\(suffix)",
                                                        verifiedName: "Business \(suffix)", mode: mode)
                waba.phoneIDs.append(phoneID)
            }
            s.wabas[wabaID] = waba
            let businessID = s.makeID()
            let code = "AQ" + SecureRandom.base62(60)
            s.codes[code] = .init(wabaID: wabaID, businessID: businessID, issuedAt: Date(), used: false)
            return ["code": code, "wabaId": wabaID, "phoneNumberId": phoneID, "businessId": businessID]
        }
        return .json(200, result)
    }

    func changePhone(_ id: String, _ body: [String: Any]) -> Response {
        state.withLock { s -> Response in
            guard var phone = s.phones[id] else { return .json(404, ["error": "no phone \(id)"]) }
            if let quality = body["qualityRating"] as? String { phone.qualityRating = quality }
            if let health = body["healthStatus"] as? String { phone.healthStatus = health }
            if let mode = body["mode"] as? String { phone.mode = mode }
            if let tier = body["messagingLimitTier"] as? String { phone.messagingLimitTier = tier }
            s.phones[id] = phone
            return .json(200, FakeMeta.fields(phone))
        }
    }

    func stateSnapshot() -> Response {
        state.withLock { s -> Response in
            var wabas: [String: AnyEncodable] = [:]
            for (id, waba) in s.wabas {
                wabas[id] = AnyEncodable([
                    "subscribed": AnyEncodable(waba.subscribed),
                    "overrideCallbackUri": AnyEncodable(waba.overrideCallbackURI),
                    "overrideVerifyToken": AnyEncodable(waba.overrideVerifyToken),
                    "phones": AnyEncodable(waba.phoneIDs.compactMap { s.phones[$0] }.map { phone in
                        [
                            "id": AnyEncodable(phone.id), "mode": AnyEncodable(phone.mode),
                            "registered": AnyEncodable(phone.registered), "syncRequests": AnyEncodable(phone.syncRequests),
                            "qualityRating": AnyEncodable(phone.qualityRating), "healthStatus": AnyEncodable(phone.healthStatus),
                        ]
                    }),
                ])
            }
            let calls = s.calls.map { ["method": $0.method, "path": $0.path, "at": Response.timestamp($0.at)] }
            let received = s.received.map { ["path": $0.path, "at": Response.timestamp($0.at), "event": $0.event ?? "", "body": $0.body] }
            return .json(200, ["wabas": AnyEncodable(wabas), "calls": AnyEncodable(calls), "received": AnyEncodable(received)])
        }
    }
}
