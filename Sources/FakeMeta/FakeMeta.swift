import Crypto
import Foundation
import HTTPClient
import HTTPServer
import Meta
import Synchronization

/// A Graph API simulator that keeps state the way Meta does: an Embedded Signup code lives 30 s
/// and works once; a token belongs to the WABA it was issued for; an override before a plain
/// subscription fails with code 100; an override URL must pass the `hub.challenge` handshake
/// (code 2200 otherwise); faults can be injected per route.
public final class FakeMeta: Sendable {
    public struct Configuration: Sendable {
        public var appID = "1234567890"
        public var appSecret = "dev-app-secret"
        public var version = "v25.0"
        public var codeLifetime: TimeInterval = 30
        public init() {}
    }

    let configuration: Configuration
    let state = Mutex(FakeMetaState())
    /// Outbound calls of the simulator itself (override handshakes, deliveries) go to local URLs.
    let http = HTTPClient(allowPrivateTargets: true)

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public func handle(_ request: Request) -> Response {
        let route = "\(request.method) \(request.path)"
        if request.method == "GET" && request.path == "/sdk.js" { return sdk() }
        if !request.path.hasPrefix("/_fake/") {
            let fault = state.withLock { s -> FakeMetaState.Fault? in
                s.calls.append(.init(method: request.method, path: request.path, at: Date()))
                guard let index = s.faults.firstIndex(where: { route.hasPrefix($0.match) && $0.times > 0 }) else { return nil }
                s.faults[index].times -= 1
                return s.faults[index]
            }
            if let fault {
                if fault.delayMs > 0 { Thread.sleep(forTimeInterval: Double(fault.delayMs) / 1000) }
                if fault.status > 0 {
                    return Response(status: fault.status, headers: [("Content-Type", "application/json")],
                                    body: fault.body ?? FakeMeta.errorBody(1, "An unknown error occurred (injected)"))
                }
            }
        }
        let parts = request.path.split(separator: "/").map(String.init)
        if parts.first == "_fake" { return control(request, Array(parts.dropFirst())) }
        guard parts.first == configuration.version else { return FakeMeta.error(400, 2500, "Unknown path components: \(request.path)") }
        return graph(request, Array(parts.dropFirst()))
    }

    // MARK: Graph

    func graph(_ request: Request, _ path: [String]) -> Response {
        if path == ["oauth", "access_token"] { return exchange(request) }
        guard let auth = request.header("Authorization"), auth.hasPrefix("Bearer ") else {
            return FakeMeta.error(400, 104, "An access token is required to request this resource.")
        }
        let token = String(auth.dropFirst(7))
        guard let tokenWABA = state.withLock({ $0.tokens[token] }) else {
            return FakeMeta.error(401, 190, "Invalid OAuth access token - Cannot parse access token", subcode: 460)
        }
        let proof = Digest.hmacSHA256(key: Data(configuration.appSecret.utf8), message: Data(token.utf8)).hexString
        guard request.query["appsecret_proof"] == proof else {
            return FakeMeta.error(400, 100, "Invalid appsecret_proof provided in the API argument")
        }
        let form = FakeMeta.form(request)
        switch (request.method, path.count, path.last) {
        case ("GET", 2, "phone_numbers"):
            return withWABA(path[0], token: tokenWABA) { waba, s in
                .json(200, ["data": waba.phoneIDs.compactMap { s.phones[$0] }.map(FakeMeta.fields)])
            }
        case ("POST", 2, "subscribed_apps"):
            return subscribe(wabaID: path[0], tokenWABA: tokenWABA, form: form)
        case ("DELETE", 2, "subscribed_apps"):
            return withWABA(path[0], token: tokenWABA, change: { $0.subscribed = false; $0.overrideCallbackURI = nil; $0.overrideVerifyToken = nil }) { _, _ in
                .json(200, ["success": true])
            }
        case ("GET", 1, _):
            return withPhone(path[0], token: tokenWABA) { .json(200, FakeMeta.fields($0)) }
        case ("POST", 2, "register"):
            let pin = form["pin"] ?? ""
            return withPhone(path[0], token: tokenWABA, change: { phone in
                guard phone.mode != "coexistence" else {
                    return FakeMeta.error(400, 100, "Phone numbers onboarded to the WhatsApp Business app are not registered")
                }
                guard pin.count == 6, pin.allSatisfy(\.isNumber) else {
                    return FakeMeta.error(400, 100, "(#100) Param pin must be a 6-digit number")
                }
                // Registration sets two-step verification; registering again needs the same PIN.
                if let existing = phone.pin, existing != pin {
                    return FakeMeta.error(400, 133005, "Two step verification PIN Mismatch")
                }
                phone.registered = true
                phone.pin = pin
                return nil
            }) { _ in .json(200, ["success": true]) }
        case ("POST", 2, "smb_app_data"):
            guard let type = form["sync_type"], ["smb_app_state_sync", "history"].contains(type) else {
                return FakeMeta.error(400, 100, "(#100) The parameter sync_type is required")
            }
            return withPhone(path[0], token: tokenWABA, change: { $0.syncRequests.append(type); return nil }) { _ in
                .json(200, ["success": true])
            }
        default:
            return FakeMeta.error(400, 100, "Unsupported \(request.method) request.")
        }
    }

    func exchange(_ request: Request) -> Response {
        guard request.query["client_id"] == configuration.appID, request.query["client_secret"] == configuration.appSecret else {
            return FakeMeta.error(400, 101, "Error validating application. Invalid application ID or secret.")
        }
        let code = request.query["code"] ?? ""
        let lifetime = configuration.codeLifetime
        return state.withLock { s -> Response in
            guard var entry = s.codes[code] else {
                return FakeMeta.error(400, 100, "Invalid verification code format.", subcode: 36007)
            }
            guard !entry.used else { return FakeMeta.error(400, 100, "This authorization code has been used.", subcode: 36009) }
            guard Date().timeIntervalSince(entry.issuedAt) <= lifetime else {
                return FakeMeta.error(400, 100, "This authorization code has expired.", subcode: 36008)
            }
            entry.used = true
            s.codes[code] = entry
            let token = "EAAG" + SecureRandom.base62(40)
            s.tokens[token] = entry.wabaID
            return .json(200, ["access_token": token, "token_type": "bearer"])
        }
    }

    func subscribe(wabaID: String, tokenWABA: String, form: [String: String]) -> Response {
        guard let callback = form["override_callback_uri"] else {
            return withWABA(wabaID, token: tokenWABA, change: { $0.subscribed = true }) { _, _ in .json(200, ["success": true]) }
        }
        let subscribed = state.withLock { $0.wabas[wabaID]?.subscribed ?? false }
        guard subscribed else {
            return FakeMeta.error(400, 100, "(#100) The app must be subscribed to the WhatsApp Business Account before overriding its callback")
        }
        guard let verifyToken = form["verify_token"] else {
            return FakeMeta.error(400, 100, "(#100) The parameter verify_token is required")
        }
        // Meta verifies the callback before accepting it.
        let challenge = SecureRandom.base62(16)
        let handshake = VerificationHandshake.url(callback: callback, verifyToken: verifyToken, challenge: challenge)
        let verified = (try? http.send(.init(url: handshake), deadline: Date().addingTimeInterval(5)))
            .map { VerificationHandshake.passes(status: $0.status, body: $0.body, challenge: challenge) } ?? false
        guard verified else {
            return FakeMeta.error(400, 2200, "Callback verification failed with the following errors: HTTP Status Code = 403")
        }
        return withWABA(wabaID, token: tokenWABA, change: { $0.overrideCallbackURI = callback; $0.overrideVerifyToken = verifyToken }) { _, _ in .json(200, ["success": true]) }
    }

    // MARK: Helpers

    func withWABA(_ id: String, token: String, change: (inout FakeMetaState.WABA) -> Void = { _ in },
                  _ answer: (FakeMetaState.WABA, FakeMetaState) -> Response) -> Response {
        state.withLock { s in
            guard var waba = s.wabas[id], id == token else {
                return FakeMeta.error(400, 100, "Unsupported request - Object with ID '\(id)' does not exist, cannot be loaded due to missing permissions, or does not support this operation", subcode: 33)
            }
            change(&waba)
            s.wabas[id] = waba
            return answer(waba, s)
        }
    }

    func withPhone(_ id: String, token: String, change: (inout FakeMetaState.Phone) -> Response? = { _ in nil },
                   _ answer: (FakeMetaState.Phone) -> Response) -> Response {
        state.withLock { s in
            guard var phone = s.phones[id], phone.wabaID == token else {
                return FakeMeta.error(400, 100, "Unsupported request - Object with ID '\(id)' does not exist, cannot be loaded due to missing permissions, or does not support this operation", subcode: 33)
            }
            if let refusal = change(&phone) { return refusal }
            s.phones[id] = phone
            return answer(phone)
        }
    }

    /// A number as Meta shows it after Embedded Signup: verified by the person in the popup;
    /// a Cloud API number is `NOT_APPLICABLE` and `PENDING` until registered; a Coexistence
    /// number is on the app and on the Cloud API at once; an `unknown` one is not yet either.
    static func fields(_ phone: FakeMetaState.Phone) -> [String: AnyEncodable] {
        let live = phone.registered || phone.mode == "coexistence"
        return [
            "id": .init(phone.id), "display_phone_number": .init(phone.displayPhoneNumber), "verified_name": .init(phone.verifiedName),
            "quality_rating": .init(phone.qualityRating), "is_on_biz_app": .init(phone.mode == "coexistence"),
            "platform_type": .init(live ? "CLOUD_API" : "NOT_APPLICABLE"),
            "code_verification_status": .init("VERIFIED"),
            "status": .init(phone.healthStatus == "BLOCKED" ? "BANNED" : live ? "CONNECTED" : "PENDING"),
            "messaging_limit_tier": .init(phone.messagingLimitTier),
            "health_status": .init(["can_send_message": AnyEncodable(phone.healthStatus), "entities": AnyEncodable([String]())]),
        ]
    }

    static func form(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            if kv.count == 2 { out[kv[0]] = kv[1] }
        }
        return out
    }

    static func errorBody(_ code: Int, _ message: String, subcode: Int? = nil) -> Data {
        var body: [String: Any] = ["message": message, "type": "OAuthException", "code": code,
                                   "fbtrace_id": "A" + SecureRandom.base62(10)]
        if let subcode { body["error_subcode"] = subcode }
        return (try? JSONSerialization.data(withJSONObject: ["error": body], options: [.sortedKeys])) ?? Data()
    }

    static func error(_ status: Int, _ code: Int, _ message: String, subcode: Int? = nil) -> Response {
        Response(status: status, headers: [("Content-Type", "application/json")], body: errorBody(code, message, subcode: subcode))
    }
}

/// A type-erased Encodable for mixed-type JSON objects.
struct AnyEncodable: Encodable {
    let encodeValue: (Encoder) throws -> Void
    init<T: Encodable>(_ value: T) { encodeValue = value.encode }
    func encode(to encoder: Encoder) throws { try encodeValue(encoder) }
}
