import Crypto
import Foundation
import HTTPClient
import HTTPServer
import Meta
import Synchronization
import TestSupport
import Testing

/// The simulator as the platform meets it: the real `dualhook fake-meta` process, called
/// through the project's own Graph client.
@Suite(.serialized) struct FakeMetaTests {
    typealias Simulator = FakeMetaProcess

    func graph(_ sim: Simulator) -> GraphClient {
        GraphClient(configuration: .init(baseURL: sim.base, version: "v25.0", appID: "1234567890", appSecret: "dev-app-secret"),
                    http: HTTPClient(allowPrivateTargets: true))
    }
    var deadline: Date { Date().addingTimeInterval(10) }

    func graphError(_ body: () throws -> Void) -> GraphError? {
        do { try body() } catch let error as GraphError { return error } catch {}
        return nil
    }

    @Test func aCodeWorksOnceAndTheTokenReachesOnlyItsWABA() throws {
        let sim = try Simulator()
        defer { sim.process.stop() }
        let signup = try sim.post("/_fake/signup", #"{"mode":"cloud_api"}"#)
        let code = signup["code"] as! String
        let waba = signup["wabaId"] as! String
        let phone = signup["phoneNumberId"] as! String
        let token = try graph(sim).exchangeCode(code, deadline: deadline).access_token
        #expect(graphError { _ = try graph(sim).exchangeCode(code, deadline: deadline) }?.subcode == 36009, "a code works once")
        #expect(graphError { _ = try graph(sim).exchangeCode("made-up", deadline: deadline) }?.code == 100)

        let numbers = try graph(sim).phoneNumbers(waba: waba, token: token, deadline: deadline)
        #expect(numbers.map(\.id) == [phone])
        let fields = try graph(sim).phoneNumber(phone, token: token, deadline: deadline)
        #expect(fields.is_on_biz_app == false && fields.platform_type == "NOT_APPLICABLE", "a Cloud API number before registration")
        #expect(graphError { try graph(sim).register(phone: phone, pin: "12345", token: token, deadline: deadline) }?.code == 100)
        try graph(sim).register(phone: phone, pin: "123456", token: token, deadline: deadline)
        try graph(sim).register(phone: phone, pin: "123456", token: token, deadline: deadline)  // again, same PIN: fine
        #expect(graphError { try graph(sim).register(phone: phone, pin: "654321", token: token, deadline: deadline) }?.code == 133005,
                "registration set the two-step PIN")
        #expect(graphError { try graph(sim).setTwoStepPIN(phone: phone, pin: "65432x", token: token, deadline: deadline) }?.code == 100)
        try graph(sim).setTwoStepPIN(phone: phone, pin: "654321", token: token, deadline: deadline)
        try graph(sim).register(phone: phone, pin: "654321", token: token, deadline: deadline)  // the PIN updated
        #expect(try graph(sim).phoneNumber(phone, token: token, deadline: deadline).platform_type == "CLOUD_API")
        // What a health poll asks for is served; Meta's deprecated tier field is refused by name.
        let health = try graph(sim).phoneNumber(phone, fields: GraphClient.healthFields, token: token, deadline: deadline)
        #expect(health.whatsapp_business_manager_messaging_limit == "TIER_1K" && health.health_status?.can_send_message == "AVAILABLE")
        let removed = graphError { _ = try graph(sim).phoneNumber(phone, fields: "quality_rating,messaging_limit_tier", token: token, deadline: deadline) }
        #expect(removed?.code == 100 && removed?.message.contains("messaging_limit_tier") == true)

        let other = try sim.post("/_fake/signup", #"{"mode":"coexistence"}"#)
        #expect(graphError { _ = try graph(sim).phoneNumbers(waba: other["wabaId"] as! String, token: token, deadline: deadline) }?.code == 100,
                "a token reaches only its own WABA")
        #expect(graphError { _ = try graph(sim).phoneNumbers(waba: waba, token: "EAAGnot-issued", deadline: deadline) }?.isTokenInvalid == true)
    }

    @Test func subscriptionOverrideAndTheHandshake() throws {
        let sim = try Simulator()
        defer { sim.process.stop() }
        let endpoint = try LoopbackServer.handshakeReceiver(token: "s3cret")
        let callback = endpoint.base + "/hook"
        defer { endpoint.stop() }
        let signup = try sim.post("/_fake/signup", #"{"mode":"coexistence"}"#)
        let waba = signup["wabaId"] as! String
        let phone = signup["phoneNumberId"] as! String
        let token = try graph(sim).exchangeCode(signup["code"] as! String, deadline: deadline).access_token
        let client = graph(sim)

        let early = graphError { try client.overrideCallback(waba: waba, callbackURI: callback, verifyToken: "s3cret", token: token, deadline: deadline) }
        #expect(early?.code == 100, "an override before the plain subscription fails as Meta's does")
        try client.subscribe(waba: waba, token: token, deadline: deadline)
        let refused = graphError { try client.overrideCallback(waba: waba, callbackURI: callback, verifyToken: "wrong", token: token, deadline: deadline) }
        #expect(refused?.code == 2200, "the callback must answer the challenge")
        try client.overrideCallback(waba: waba, callbackURI: callback, verifyToken: "s3cret", token: token, deadline: deadline)

        #expect(graphError { try client.register(phone: phone, pin: "123456", token: token, deadline: deadline) } != nil,
                "coexistence numbers are not registered")
        _ = try client.requestSync(phone: phone, type: "smb_app_state_sync", token: token, deadline: deadline)

        let wabas = try sim.state()["wabas"] as! [String: [String: Any]]
        #expect(wabas[waba]?["subscribed"] as? Bool == true)
        #expect(wabas[waba]?["overrideCallbackUri"] as? String == callback)
        let phones = wabas[waba]?["phones"] as? [[String: Any]]
        #expect(phones?.first?["syncRequests"] as? [String] == ["smb_app_state_sync"])

        try client.unsubscribe(waba: waba, token: token, deadline: deadline)
        let after = try sim.state()["wabas"] as! [String: [String: Any]]
        #expect(after[waba]?["subscribed"] as? Bool == false)
        #expect(after[waba]?["overrideCallbackUri"] is NSNull)
    }

    @Test func faultsAreInjectedPerRouteAndCallsAreRecorded() throws {
        let sim = try Simulator()
        defer { sim.process.stop() }
        let signup = try sim.post("/_fake/signup", #"{}"#)
        let waba = signup["wabaId"] as! String
        let token = try graph(sim).exchangeCode(signup["code"] as! String, deadline: deadline).access_token
        _ = try sim.post("/_fake/faults", #"{"match":"POST /v25.0/\#(waba)/subscribed_apps","status":500,"times":1}"#)
        let failed = graphError { try graph(sim).subscribe(waba: waba, token: token, deadline: deadline) }
        #expect(failed?.httpStatus == 500 && failed?.isTransient == true)
        try graph(sim).subscribe(waba: waba, token: token, deadline: deadline)  // the fault was used up
        let calls = try sim.state()["calls"] as! [[String: Any]]
        #expect(calls.map { "\($0["method"]!) \($0["path"]!)" }.suffix(2) == ["POST /v25.0/\(waba)/subscribed_apps",
                                                                            "POST /v25.0/\(waba)/subscribed_apps"])
        _ = try sim.post("/_fake/phones/\(signup["phoneNumberId"] as! String)", #"{"qualityRating":"RED"}"#)
        #expect(try graph(sim).phoneNumber(signup["phoneNumberId"] as! String, token: token, deadline: deadline).quality_rating == "RED")
    }

    /// Meta's override rules: a plain subscription removes the WABA's override, the app's
    /// subscription shows it, a number's own override wins and an empty one removes it.
    @Test func aPlainSubscriptionRemovesTheOverrideAndANumbersOwnWins() throws {
        let sim = try Simulator()
        defer { sim.process.stop() }
        let endpoint = try LoopbackServer.handshakeReceiver(token: "s3cret")
        defer { endpoint.stop() }
        let signup = try sim.post("/_fake/signup", #"{}"#)
        let waba = signup["wabaId"] as! String
        let phone = signup["phoneNumberId"] as! String
        let client = graph(sim)
        let token = try client.exchangeCode(signup["code"] as! String, deadline: deadline).access_token

        #expect(try client.subscription(waba: waba, token: token, deadline: deadline) == nil)
        #expect(graphError { try client.overridePhoneCallback(phone: phone, callbackURI: endpoint.base + "/p", verifyToken: "s3cret",
                                                              token: token, deadline: deadline) }?.code == 100,
                "a number's override needs the WABA subscribed")
        try client.subscribe(waba: waba, token: token, deadline: deadline)
        try client.overrideCallback(waba: waba, callbackURI: endpoint.base + "/w", verifyToken: "s3cret", token: token, deadline: deadline)
        #expect(try client.subscription(waba: waba, token: token, deadline: deadline)?.override_callback_uri == endpoint.base + "/w")
        try client.subscribe(waba: waba, token: token, deadline: deadline)
        #expect(try client.subscription(waba: waba, token: token, deadline: deadline)?.override_callback_uri == nil,
                "subscribing without parameters removes the override")
        #expect(try sim.waba(waba)?["overrideCallbackUri"] is NSNull)

        try client.overrideCallback(waba: waba, callbackURI: endpoint.base + "/w", verifyToken: "s3cret", token: token, deadline: deadline)
        #expect(graphError { try client.overridePhoneCallback(phone: phone, callbackURI: endpoint.base + "/p", verifyToken: "wrong",
                                                              token: token, deadline: deadline) }?.code == 2200)
        try client.overridePhoneCallback(phone: phone, callbackURI: endpoint.base + "/p", verifyToken: "s3cret", token: token, deadline: deadline)
        let configuration = try client.webhookConfiguration(phone: phone, token: token, deadline: deadline)
        #expect(configuration.phone_number == endpoint.base + "/p" && configuration.whatsapp_business_account == endpoint.base + "/w")
        #expect(configuration.effective == endpoint.base + "/p")
        let routed = try sim.post("/_fake/emit", #"{"wabaId":"\#(waba)","phoneNumberId":"\#(phone)","field":"messages","value":{"name":"Jürgen 😀"}}"#)
        #expect(routed["target"] as? String == endpoint.base + "/p")
        #expect((routed["sent"] as? String)?.contains(#""name":"J\u00fcrgen \ud83d\ude00""#) == true, "escaped as Meta writes it: \(routed)")
        try client.overridePhoneCallback(phone: phone, callbackURI: "", verifyToken: nil, token: token, deadline: deadline)
        #expect(try client.webhookConfiguration(phone: phone, token: token, deadline: deadline).effective == endpoint.base + "/w")
        // Without an app callback configured, template fields go nowhere.
        let template = try sim.post("/_fake/emit", #"{"wabaId":"\#(waba)","field":"message_template_status_update","value":{}}"#)
        #expect(template["target"] is NSNull)

        // With the app's callback set, management fields reach it only while the app is
        // subscribed to the WABA; `account_update` (a partner's removal among them) still does.
        try sim.post("/_fake/app", #"{"callbackUrl":"\#(endpoint.base)/app"}"#)
        #expect(try sim.post("/_fake/emit", #"{"wabaId":"\#(waba)","field":"message_template_status_update","value":{}}"#)["target"] as? String
                == endpoint.base + "/app")
        try client.unsubscribe(waba: waba, token: token, deadline: deadline)
        #expect(try sim.post("/_fake/emit", #"{"wabaId":"\#(waba)","field":"message_template_status_update","value":{}}"#)["target"] is NSNull)
        #expect(try sim.post("/_fake/emit", #"{"wabaId":"\#(waba)","phoneNumberId":"\#(phone)","field":"messages","value":{}}"#)["target"] is NSNull)
        #expect(try sim.post("/_fake/emit", #"{"wabaId":"\#(waba)","field":"account_update","value":{"event":"PARTNER_REMOVED"}}"#)["target"] as? String
                == endpoint.base + "/app")
    }

    /// Meta tells the app's callback of each finished signup: `account_update` with
    /// `PARTNER_APP_INSTALLED`, the customer's WABA and business in `waba_info`, signed with the
    /// app secret; and again while the callback does not answer 200.
    @Test func aFinishedSignupIsAnnouncedToTheAppsCallback() throws {
        let sim = try Simulator()
        defer { sim.process.stop() }
        let answers = Mutex<[Int]>([503])
        let received = Mutex<[(body: Data, signature: String?)]>([])
        let app = try LoopbackServer { request in
            received.withLock { $0.append((request.body, request.header("X-Hub-Signature-256"))) }
            return Response(status: answers.withLock { $0.isEmpty ? 200 : $0.removeFirst() })
        }
        defer { app.stop() }
        try sim.post("/_fake/app", #"{"callbackUrl":"\#(app.base)/app"}"#)
        let signup = try sim.post("/_fake/signup", #"{}"#)
        let waba = try #require(signup["wabaId"] as? String)
        // Refused once (503), delivered again about a second later.
        #expect(eventually(timeout: 10) { received.withLock { $0.count } == 2 })
        let deliveries = received.withLock { $0 }
        #expect(deliveries[0].body == deliveries[1].body)
        let body = try #require(deliveries.last)
        #expect(body.signature == "sha256=" + Digest.hmacSHA256(key: Data("dev-app-secret".utf8), message: body.body).hexString)
        let envelope = try #require(try JSONSerialization.jsonObject(with: body.body) as? [String: Any])
        let entry = try #require((envelope["entry"] as? [[String: Any]])?.first)
        let change = try #require((entry["changes"] as? [[String: Any]])?.first)
        let value = try #require(change["value"] as? [String: Any])
        let info = try #require(value["waba_info"] as? [String: Any])
        #expect(envelope["object"] as? String == "whatsapp_business_account" && entry["id"] as? String == waba)
        #expect(change["field"] as? String == "account_update" && value["event"] as? String == "PARTNER_APP_INSTALLED")
        #expect(info["waba_id"] as? String == waba && info["owner_business_id"] as? String == signup["businessId"] as? String
                && info["partner_app_id"] as? String == "1234567890")
    }

    /// Registration only for verified numbers and at most 10 times in 72 hours; each
    /// Coexistence sync once, within 24 hours, with a request id; tokens that expire.
    @Test func registrationSyncAndTokenLimitsAsMetaSetsThem() throws {
        let sim = try Simulator()
        defer { sim.process.stop() }
        let client = graph(sim)
        let unverified = try sim.post("/_fake/signup", #"{"verified":false}"#)
        let phone = unverified["phoneNumberId"] as! String
        let token = try client.exchangeCode(unverified["code"] as! String, deadline: deadline).access_token
        #expect(try client.phoneNumber(phone, token: token, deadline: deadline).isVerified == false)
        let unverifiedError = graphError { try client.register(phone: phone, pin: "123456", token: token, deadline: deadline) }
        #expect(unverifiedError?.code == 133006)
        // Meta's shape: the code's title in the message, the explanation in error_data.details.
        #expect(unverifiedError?.message == "(#133006) Phone number re-verification needed"
                && unverifiedError?.details == "Phone number needs to be verified before registering.")
        _ = try sim.post("/_fake/phones/\(phone)", #"{"verified":true}"#)
        // Without `messaging_product`, which Meta requires: refused, and not counted.
        let proof = Digest.hmacSHA256(key: Data("dev-app-secret".utf8), message: Data(token.utf8)).hexString
        let bare = try HTTPClient(allowPrivateTargets: true).send(.init(
            method: "POST", url: "\(sim.base)/v25.0/\(phone)/register?appsecret_proof=\(proof)",
            headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/x-www-form-urlencoded")],
            body: Data("pin=123456".utf8)), deadline: deadline)
        #expect(bare.status == 400 && String(decoding: bare.body, as: UTF8.self).contains("The parameter messaging_product is required"))
        for _ in 0..<9 { try client.register(phone: phone, pin: "123456", token: token, deadline: deadline) }
        #expect(graphError { try client.register(phone: phone, pin: "123456", token: token, deadline: deadline) }?.isRegisterLimit == true,
                "the eleventh request within 72 hours")
        let blocked = try #require(try sim.phone(phone, waba: unverified["wabaId"] as! String)?["registerBlockedUntil"] as? Int)
        #expect(abs(Double(blocked) - Date().addingTimeInterval(72 * 3600).timeIntervalSince1970) < 60,
                "refused for the 72 hours after the refusal")

        let app = try sim.post("/_fake/signup", #"{"mode":"coexistence","tokenExpiresIn":2}"#)
        let appPhone = app["phoneNumberId"] as! String
        let answer = try client.exchangeCode(app["code"] as! String, deadline: deadline)
        #expect(answer.expires_in == 2)
        let id = try client.requestSync(phone: appPhone, type: "smb_app_state_sync", token: answer.access_token, deadline: deadline)
        #expect(id?.isEmpty == false)
        #expect(graphError { _ = try client.requestSync(phone: appPhone, type: "smb_app_state_sync", token: answer.access_token,
                                                        deadline: deadline) }?.isSyncAlreadyRequested == true)
        _ = try sim.post("/_fake/phones/\(appPhone)", #"{"onboardedSecondsAgo":90000}"#)
        #expect(graphError { _ = try client.requestSync(phone: appPhone, type: "history", token: answer.access_token,
                                                        deadline: deadline) }?.isSyncWindowClosed == true)
        Thread.sleep(forTimeInterval: 2.5)
        #expect(graphError { _ = try client.phoneNumber(appPhone, token: answer.access_token, deadline: deadline) }?.isTokenExpired == true)
    }
}
