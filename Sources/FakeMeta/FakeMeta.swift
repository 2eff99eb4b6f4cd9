import Crypto
import Foundation
import HTTPClient
import HTTPServer
import Meta
import Synchronization

/// A Graph API simulator that keeps state the way Meta does: an Embedded Signup code lives 30 s
/// and works once; a token belongs to the WABA it was issued for (and may expire); webhook
/// subscriptions and overrides follow Meta's rules (`FakeMeta+Webhooks`); numbers register and
/// sync as Meta allows (`FakeMeta+Numbers`); faults can be injected per route.
public final class FakeMeta: Sendable {
    public struct Configuration: Sendable {
        public var appID = "1234567890"
        public var appSecret = "dev-app-secret"
        public var version = "v25.0"
        public var codeLifetime: TimeInterval = 30
        /// The app's own webhook callback (the App Dashboard's setting), where Meta sends what no
        /// override captures.
        public var appCallbackURL: String?
        /// Seconds between a change's deliveries while it is not answered 200: Meta's increasing
        /// delays over a day, compressed.
        public var redeliveryDelays: [TimeInterval] = [1, 2, 4, 8, 16, 32, 64]
        public init() {}
    }

    let configuration: Configuration
    let state = Mutex(FakeMetaState())
    /// Outbound calls of the simulator itself (override handshakes, deliveries) go to local URLs.
    let http = HTTPClient(allowPrivateTargets: true)

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        state.withLock { $0.appCallbackURL = configuration.appCallbackURL }
    }

    /// The answer, named in the access log by its route: the path with ids and tokens as
    /// `{id}` (it said `unmatched` for every call).
    public func handle(_ request: Request) -> Response {
        var response = answer(request)
        response.route = request.method + " " + request.path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.contains(where: \.isNumber) && !FakeMeta.isVersion(segment) ? "{id}" : String(segment)
        }.joined(separator: "/")
        return response
    }

    /// A Graph API version (`v25.0`) stays as it is in a route.
    static func isVersion(_ segment: Substring) -> Bool {
        segment.first == "v" && segment.dropFirst().allSatisfy { $0.isNumber || $0 == "." }
    }

    func answer(_ request: Request) -> Response {
        let route = "\(request.method) \(request.path)"
        if request.method == "GET", let locale = FakeMeta.sdkLocale(request.path) {
            state.withLock { $0.recordSDKLoad(locale: locale) }
            return sdk()
        }
        if !request.path.hasPrefix("/_fake/") {
            let fault = state.withLock { s -> FakeMetaState.Fault? in
                s.recordCall(method: request.method, path: request.path)
                guard let index = s.faults.firstIndex(where: { $0.matches(route) && $0.times > 0 }) else { return nil }
                s.faults[index].times -= 1
                return s.faults[index]
            }
            if let fault {
                if fault.delayMs > 0 { Thread.sleep(forTimeInterval: Double(fault.delayMs) / 1000) }
                if fault.status > 0 {
                    // Graph's codes for a bare failure: 2 "Service temporarily unavailable" with a
                    // 503, else 1 "An unknown error occurred"
                    // (https://developers.facebook.com/docs/graph-api/guides/error-handling).
                    let bare = fault.status == 503 ? FakeMeta.errorBody(2, "Service temporarily unavailable (injected)")
                                                   : FakeMeta.errorBody(1, "An unknown error occurred (injected)")
                    return Response(status: fault.status, headers: [("Content-Type", "application/json")] + fault.headers,
                                    body: fault.body ?? bare)
                }
            }
        }
        // The path comes as sent: each segment is decoded here.
        let parts = request.path.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
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
        guard let (tokenWABA, expiry) = state.withLock({ s in s.tokens[token].map { ($0, s.tokenExpiry[token]) } }) else {
            return FakeMeta.error(401, 190, "Invalid OAuth access token - Cannot parse access token", subcode: 460)
        }
        // https://developers.facebook.com/docs/facebook-login/guides/access-tokens/debugging-and-error-handling
        if let expiry, expiry <= Date() {
            return FakeMeta.error(401, 190, "Error validating access token: Session has expired.", subcode: 463)
        }
        let proof = Digest.hmacSHA256(key: Data(configuration.appSecret.utf8), message: Data(token.utf8)).hexString
        guard request.query["appsecret_proof"] == proof else {
            return FakeMeta.error(400, 100, "Invalid appsecret_proof provided in the API argument")
        }
        let form = FakeMeta.form(request)
        switch (request.method, path.count, path.last) {
        case ("GET", 2, "phone_numbers"):
            return withWABA(path[0], token: tokenWABA) { waba, s in
                let selected = request.query["fields"].map { Set($0.split(separator: ",").map(String.init)) }
                if let field = FakeMeta.unknownField(selected, in: s) { return FakeMeta.nonexisting(field) }
                return .json(200, ["data": waba.phoneIDs.compactMap { s.phones[$0] }.map { FakeMeta.fields($0, in: s, selecting: selected) }])
            }
        case ("POST", 2, "subscribed_apps"):
            return subscribe(wabaID: path[0], tokenWABA: tokenWABA, form: form)
        case ("GET", 2, "subscribed_apps"):
            return subscriptions(wabaID: path[0], tokenWABA: tokenWABA)
        case ("DELETE", 2, "subscribed_apps"):
            return withWABA(path[0], token: tokenWABA, change: { $0.subscribed = false; $0.overrideCallbackURI = nil; $0.overrideVerifyToken = nil }) { _, _ in
                .json(200, ["success": true])
            }
        case ("GET", 1, _):
            let selected = request.query["fields"].map { Set($0.split(separator: ",").map(String.init)) }
            return state.withLock { s in
                guard let phone = s.phones[path[0]], phone.wabaID == tokenWABA else { return FakeMeta.missing(path[0]) }
                if let field = FakeMeta.unknownField(selected, in: s) { return FakeMeta.nonexisting(field) }
                return .json(200, FakeMeta.fields(phone, in: s, selecting: selected))
            }
        case ("POST", 1, _) where form["pin"] != nil:
            return setTwoStepPIN(path[0], tokenWABA: tokenWABA, pin: form["pin"] ?? "")
        case ("POST", 1, _):
            return configurePhone(path[0], tokenWABA: tokenWABA, request: request)
        case ("POST", 2, "register") where form["messaging_product"] != "whatsapp",
             ("POST", 2, "smb_app_data") where form["messaging_product"] != "whatsapp":
            // "messaging_product: Required. Messaging service used. Set this to whatsapp"
            // (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/registration).
            return FakeMeta.error(400, 100, "(#100) The parameter messaging_product is required")
        case ("POST", 2, "register"):
            return register(path[0], tokenWABA: tokenWABA, pin: form["pin"] ?? "")
        case ("POST", 2, "smb_app_data"):
            return requestSync(path[0], tokenWABA: tokenWABA, type: form["sync_type"])
        default:
            return FakeMeta.error(400, 100, "Unsupported \(request.method) request.")
        }
    }

    func exchange(_ request: Request) -> Response {
        // Graph's answers to a wrong app id and a wrong app secret (code 1, elsewhere a passing
        // fault), as Graph's users report them (https://github.com/facebookarchive/php-graph-sdk/issues/538).
        guard request.query["client_id"] == configuration.appID else {
            return FakeMeta.error(400, 101, "Error validating application. Invalid application ID.")
        }
        guard request.query["client_secret"] == configuration.appSecret else {
            return FakeMeta.error(400, 1, "Error validating client secret.")
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
            // A business integration system user token never expires unless the signup asked
            // for one that does; then the answer says so in `expires_in`, as Login's does
            // (https://developers.facebook.com/documentation/facebook-login/guides/advanced/manual-flow#exchangecode).
            guard let lifetime = entry.tokenLifetime else { return .json(200, ["access_token": token, "token_type": "bearer"]) }
            s.tokenExpiry[token] = Date().addingTimeInterval(TimeInterval(lifetime))
            return .json(200, ["access_token": AnyEncodable(token), "token_type": AnyEncodable("bearer"), "expires_in": AnyEncodable(lifetime)])
        }
    }

    // MARK: Helpers

    func withWABA(_ id: String, token: String, change: (inout FakeMetaState.WABA) -> Void = { _ in },
                  _ answer: (FakeMetaState.WABA, FakeMetaState) -> Response) -> Response {
        state.withLock { s in
            guard var waba = s.wabas[id], id == token else { return FakeMeta.missing(id) }
            change(&waba)
            s.wabas[id] = waba
            return answer(waba, s)
        }
    }

    func withPhone(_ id: String, token: String, change: (inout FakeMetaState.Phone) -> Response? = { _ in nil },
                   _ answer: (FakeMetaState.Phone) -> Response) -> Response {
        state.withLock { s in
            guard var phone = s.phones[id], phone.wabaID == token else { return FakeMeta.missing(id) }
            // Kept even when refused: a refused request still counts where Meta counts it
            // (registration's 72-hour limit).
            let refusal = change(&phone)
            s.phones[id] = phone
            if let refusal { return refusal }
            return answer(phone)
        }
    }

    /// What Meta answers for an id the token cannot reach.
    static func missing(_ id: String) -> Response {
        FakeMeta.error(400, 100, "Unsupported request - Object with ID '\(id)' does not exist, cannot be loaded due to missing permissions, or does not support this operation", subcode: 33)
    }

    static func form(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            if kv.count == 2 { out[kv[0]] = kv[1] }
        }
        return out
    }

    static let faultPresets = ["waba_rate_limit", "app_rate_limit"]

    /// Meta's throttling answers, with the usage header Meta sends with each
    /// (https://developers.facebook.com/docs/graph-api/overview/rate-limiting/): a WhatsApp
    /// Business Account over its Business Management API limit (80007, HTTP 400,
    /// https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes)
    /// with `X-Business-Use-Case-Usage`, per business object: `call_count`, `total_cputime`,
    /// `total_time` (percentages) and `estimated_time_to_regain_access` (minutes); and an app over
    /// its platform limit (4, "Application request limit reached") with `X-App-Usage`, the same
    /// percentages for the app and no time to regain access.
    static func presetFault(_ name: String, match: String, times: Int, regainMinutes: Int) -> FakeMetaState.Fault? {
        let object = match.split(separator: "/").first { $0.allSatisfy(\.isNumber) && !$0.isEmpty }.map(String.init) ?? "0"
        let body: Data
        let header: (String, String)
        switch name {
        case "waba_rate_limit":
            body = errorBody(80007, "(#80007) Rate limit hit: there have been too many calls to this WhatsApp Business account",
                             details: "The WhatsApp Business Account has reached its rate limit")
            header = ("X-Business-Use-Case-Usage",
                      #"{"\#(object)":[{"type":"whatsapp_business_management","call_count":100,"total_cputime":4,"total_time":6,"estimated_time_to_regain_access":\#(regainMinutes)}]}"#)
        case "app_rate_limit":
            body = errorBody(4, "(#4) Application request limit reached")
            header = ("X-App-Usage", #"{"call_count":100,"total_time":12,"total_cputime":9}"#)
        default:
            return nil
        }
        return FakeMetaState.Fault(match: match, status: 400, body: body, times: times, delayMs: 0, headers: [header])
    }

    /// Graph's error envelope; `details` as WhatsApp's errors carry it (`error_data`).
    static func errorBody(_ code: Int, _ message: String, subcode: Int? = nil, details: String? = nil) -> Data {
        var body: [String: Any] = ["message": message, "type": "OAuthException", "code": code,
                                   "fbtrace_id": "A" + SecureRandom.base62(10)]
        if let subcode { body["error_subcode"] = subcode }
        if let details { body["error_data"] = ["messaging_product": "whatsapp", "details": details] }
        return (try? JSONSerialization.data(withJSONObject: ["error": body], options: [.sortedKeys])) ?? Data()
    }

    /// Graph's answer to a `fields` list naming a field the node does not have.
    static func nonexisting(_ field: String) -> Response {
        error(400, 100, "(#100) Tried accessing nonexisting field (\(field)) on node type (WhatsAppBusinessPhoneNumber)")
    }

    static func error(_ status: Int, _ code: Int, _ message: String, subcode: Int? = nil) -> Response {
        Response(status: status, headers: [("Content-Type", "application/json")], body: errorBody(code, message, subcode: subcode))
    }

    /// A WhatsApp error as Cloud API answers it: "Code titles, which do not have a dedicated
    /// property in API error response payloads, are included as part of the message value",
    /// and the explanation is `error_data.details`
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes/).
    static func whatsappError(_ code: Int, _ title: String, _ details: String) -> Response {
        Response(status: 400, headers: [("Content-Type", "application/json")], body: errorBody(code, "(#\(code)) \(title)", details: details))
    }
}

/// A type-erased Encodable for mixed-type JSON objects.
struct AnyEncodable: Encodable {
    let encodeValue: (Encoder) throws -> Void
    init<T: Encodable>(_ value: T) { encodeValue = value.encode }
    func encode(to encoder: Encoder) throws { try encodeValue(encoder) }
}
