import Crypto
import Foundation
import HTTPClient
import HTTPServer
@testable import Meta
import TestSupport
import Testing

/// A loopback stand-in answering a few Graph routes in Meta's shapes and checking
/// `appsecret_proof` the way Meta does.
final class GraphStub: @unchecked Sendable {
    // `@unchecked Sendable`: `loopback` is set once; `seen` is guarded by `lock`.
    let loopback: LoopbackServer
    var port: UInt16 { loopback.port }
    private let lock = NSLock()
    private var seenRequests: [Request] = []
    static let secret = "dev-app-secret"

    var seen: [Request] { lock.withLock { seenRequests } }

    init() throws {
        let box = Box()
        loopback = try LoopbackServer { request in
            box.stub?.record(request)
            return GraphStub.answer(request)
        }
        box.stub = self
    }

    final class Box: @unchecked Sendable {
        // `@unchecked Sendable`: set once, before the first request can arrive.
        weak var stub: GraphStub?
    }

    func record(_ request: Request) { lock.withLock { seenRequests.append(request) } }

    static func error(_ status: Int, _ code: Int, _ message: String, subcode: Int? = nil) -> Response {
        var body: [String: Any] = ["message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"]
        if let subcode { body["error_subcode"] = subcode }
        let data = try! JSONSerialization.data(withJSONObject: ["error": body])
        return Response(status: status, headers: [("Content-Type", "application/json")], body: data)
    }

    static func answer(_ request: Request) -> Response {
        let path = request.path
        if path == "/v25.0/oauth/access_token" {
            guard request.query["client_id"] == "1234567890" else {
                return error(400, 101, "Error validating application. Invalid application ID.")
            }
            guard request.query["client_secret"] == secret else { return error(400, 1, "Error validating client secret.") }
            return request.query["code"] == "good-code"
                ? .text(200, #"{"access_token":"EAAG-token","token_type":"bearer"}"#, contentType: "application/json")
                : error(400, 100, "Invalid verification code format.", subcode: 36007)
        }
        guard let auth = request.header("Authorization"), auth.hasPrefix("Bearer ") else { return error(400, 104, "An access token is required.") }
        let token = String(auth.dropFirst(7))
        if token == "revoked" { return error(401, 190, "Error validating access token: The session has been invalidated.", subcode: 460) }
        let proof = Digest.hmacSHA256(key: Data(secret.utf8), message: Data(token.utf8)).hexString
        guard request.query["appsecret_proof"] == proof else { return error(400, 100, "Invalid appsecret_proof provided in the API argument") }
        switch (request.method, path) {
        case ("GET", "/v25.0/111/phone_numbers"):
            return .text(200, #"{"data":[{"id":"555","display_phone_number":"+1 555-0100","verified_name":"Clinic 42","quality_rating":"GREEN"}]}"#,
                         contentType: "application/json")
        case ("GET", "/v25.0/555"):
            return .text(200, #"{"id":"555","is_on_biz_app":true,"platform_type":"CLOUD_API","code_verification_status":"VERIFIED"}"#,
                         contentType: "application/json")
        case ("POST", "/v25.0/111/subscribed_apps"), ("DELETE", "/v25.0/111/subscribed_apps"), ("POST", "/v25.0/555/register"),
             ("POST", "/v25.0/555/smb_app_data"):
            return .text(200, #"{"success":true}"#, contentType: "application/json")
        case ("GET", "/v25.0/busy"):
            return error(400, 4, "Application request limit reached")
        case ("GET", "/v25.0/throttled"):
            var answer = error(400, 80007, "(#80007) Rate limit hit")
            answer.headers.append(("X-Business-Use-Case-Usage",
                #"{"111":[{"type":"whatsapp_business_management","call_count":100,"total_cputime":3,"total_time":4,"estimated_time_to_regain_access":7}],"222":[{"type":"whatsapp_business_management","call_count":40,"estimated_time_to_regain_access":0}]}"#))
            return answer
        case ("GET", "/v25.0/denied"):
            return error(500, 3, "(#3) Application does not have the capability to make this API call.")
        case ("GET", "/v25.0/later"):
            var answer = Response.text(429, "Too Many Requests", contentType: "text/plain")
            answer.setHeader("Retry-After", "12")
            return answer
        case ("GET", "/v25.0/broken"):
            return .text(502, "<html>Bad Gateway</html>", contentType: "text/html")
        default:
            return error(400, 100, "Unsupported request")
        }
    }
}

@Suite(.serialized) struct GraphClientTests {
    func client(_ stub: GraphStub) -> GraphClient {
        GraphClient(configuration: .init(baseURL: "http://127.0.0.1:\(stub.port)", version: "v25.0", appID: "1234567890",
                                         appSecret: GraphStub.secret),
                    http: HTTPClient(allowPrivateTargets: true))
    }
    var deadline: Date { Date().addingTimeInterval(5) }

    @Test func exchangesACodeAndDecodesItsErrors() throws {
        let stub = try GraphStub()
        defer { stub.loopback.stop() }
        #expect(try client(stub).exchangeCode("good-code", deadline: deadline).access_token == "EAAG-token")
        do {
            _ = try client(stub).exchangeCode("expired", deadline: deadline)
            Issue.record("expected a Graph error")
        } catch let error as GraphError {
            #expect(error.code == 100 && error.subcode == 36007 && error.httpStatus == 400 && error.fbtraceID == "AbCdEf")
            #expect(!error.isTransient)
            #expect(!error.description.contains(GraphStub.secret), "the app secret is in the URL, never in an error")
        }
    }

    @Test func callsWithATokenCarryItsProofAndReadPhoneNumbers() throws {
        let stub = try GraphStub()
        defer { stub.loopback.stop() }
        let graph = client(stub)
        let numbers = try graph.phoneNumbers(waba: "111", token: "EAAG-token", deadline: deadline)
        #expect(numbers.map(\.id) == ["555"])
        #expect(numbers.first?.verified_name == "Clinic 42" && numbers.first?.quality_rating == "GREEN")
        let phone = try graph.phoneNumber("555", token: "EAAG-token", deadline: deadline)
        #expect(phone.is_on_biz_app == true && phone.platform_type == "CLOUD_API")
        #expect(stub.seen.last?.query["fields"] == GraphClient.phoneFields)

        try graph.subscribe(waba: "111", token: "EAAG-token", deadline: deadline)
        try graph.overrideCallback(waba: "111", callbackURI: "https://api.example.com/whatsapp?x=1&y=2", verifyToken: "s3cret+/=",
                                   token: "EAAG-token", deadline: deadline)
        let form = String(decoding: stub.seen.last!.body, as: UTF8.self)
        #expect(form == "override_callback_uri=https%3A%2F%2Fapi.example.com%2Fwhatsapp%3Fx%3D1%26y%3D2&verify_token=s3cret%2B%2F%3D")
        try graph.register(phone: "555", pin: "123456", token: "EAAG-token", deadline: deadline)
        _ = try graph.requestSync(phone: "555", type: "smb_app_state_sync", token: "EAAG-token", deadline: deadline)
        try graph.unsubscribe(waba: "111", token: "EAAG-token", deadline: deadline)
        #expect(stub.seen.suffix(5).map(\.method) == ["POST", "POST", "POST", "POST", "DELETE"])

        // A wrong proof is refused as Meta refuses it.
        let wrongSecret = GraphClient(configuration: .init(baseURL: "http://127.0.0.1:\(stub.port)", version: "v25.0",
                                                           appID: "1234567890", appSecret: "other"),
                                      http: HTTPClient(allowPrivateTargets: true))
        #expect(throws: GraphError.self) { try wrongSecret.phoneNumbers(waba: "111", token: "EAAG-token", deadline: deadline) }
        // A wrong app secret at the code exchange is Graph's code 1, which elsewhere means a
        // passing fault: here no retry helps.
        var refused: GraphError?
        do { _ = try wrongSecret.exchangeCode("good-code", deadline: deadline) } catch let error as GraphError { refused = error }
        #expect(refused?.code == 1 && refused?.isAppRejected == true && refused?.isTransient == false)
        let wrongID = GraphClient(configuration: .init(baseURL: "http://127.0.0.1:\(stub.port)", version: "v25.0",
                                                       appID: "999", appSecret: GraphStub.secret),
                                  http: HTTPClient(allowPrivateTargets: true))
        do { _ = try wrongID.exchangeCode("good-code", deadline: deadline) } catch let error as GraphError { refused = error }
        #expect(refused?.code == 101 && refused?.isAppRejected == true && refused?.isTransient == false)
        let systemError = GraphError(httpStatus: 500, code: 101, subcode: nil, type: "OAuthException",
                                     message: "Error validating application. Cannot get application info due to a system error.", fbtraceID: nil)
        #expect(!systemError.isAppRejected && systemError.isTransient, "a passing fault at Meta")
    }

    @Test func classifiesRevokedTokensRateLimitsAndOutages() throws {
        let stub = try GraphStub()
        defer { stub.loopback.stop() }
        let graph = client(stub)
        func failure(_ body: () throws -> Void) -> GraphError? {
            do { try body() } catch let error as GraphError { return error } catch {}
            return nil
        }
        let revoked = failure { _ = try graph.phoneNumbers(waba: "111", token: "revoked", deadline: deadline) }
        #expect(revoked?.isTokenInvalid == true && revoked?.subcode == 460 && revoked?.isTransient == false)
        let broken = failure { _ = try graph.phoneNumber("broken", token: "EAAG-token", deadline: deadline) }
        #expect(broken?.httpStatus == 502 && broken?.isTransient == true)
        // How long a throttle lasts comes from Meta's usage header (minutes, the largest entry)
        // or a Retry-After (seconds); a permission refused is not retried though it comes as a 500.
        let throttled = failure { _ = try graph.phoneNumber("throttled", token: "EAAG-token", deadline: deadline) }
        #expect(throttled?.isRateLimited == true && throttled?.retryAfter == 420, "\(String(describing: throttled))")
        let later = failure { _ = try graph.phoneNumber("later", token: "EAAG-token", deadline: deadline) }
        #expect(later?.isRateLimited == true && later?.retryAfter == 12)
        let denied = failure { _ = try graph.phoneNumber("denied", token: "EAAG-token", deadline: deadline) }
        #expect(denied?.isPermission == true && denied?.isTransient == false)
        #expect(graph.appSecretProof("EAAG-token") == Digest.hmacSHA256(key: Data("dev-app-secret".utf8), message: Data("EAAG-token".utf8)).hexString)

        // The app over its own limit (4): its other calls are held back for Meta's wait (30 s
        // when the answer names none), answered with that error, without reaching Meta.
        let busy = failure { _ = try graph.phoneNumber("busy", token: "EAAG-token", deadline: deadline) }
        #expect(busy?.isRateLimited == true && busy?.isTransient == true)
        let calls = stub.seen.count
        let held = failure { _ = try graph.phoneNumbers(waba: "111", token: "EAAG-token", deadline: deadline) }
        #expect(held?.code == 4 && (held?.retryAfter ?? 0) > 25 && (held?.retryAfter ?? 99) <= 30, "\(String(describing: held))")
        #expect(stub.seen.count == calls, "not sent")
        // A WABA's own limit (80007) holds back nothing else.
        let other = client(stub)
        _ = failure { _ = try other.phoneNumber("throttled", token: "EAAG-token", deadline: deadline) }
        #expect(try other.phoneNumbers(waba: "111", token: "EAAG-token", deadline: deadline).map(\.id) == ["555"])
    }

    @Test func theAppThrottleEndsWhenItsWaitHasPassed() throws {
        let throttle = AppThrottle()
        let start = Date()
        throttle.record(GraphError(httpStatus: 400, code: 4, subcode: nil, type: nil, message: "limit", fbtraceID: nil), now: start)
        #expect(throws: GraphError.self) { try throttle.check(now: start.addingTimeInterval(29)) }
        try throttle.check(now: start.addingTimeInterval(31))
        throttle.record(GraphError(httpStatus: 400, code: 80007, subcode: nil, type: nil, message: "waba", fbtraceID: nil), now: start)
        try throttle.check(now: start.addingTimeInterval(31))
    }
}
