import Crypto
import Foundation
import HTTPClient
import Meta
import TestSupport
import Testing

/// Where Meta sends a tenant's webhooks, against the fake Meta's rules: a plain subscription
/// removes a WABA's override, a number's own override wins over the WABA's, and what Meta will
/// do is read back onto each connection.
@Suite(.serialized) struct RoutingTests {
    func connection(_ f: OnboardingFixture, _ id: String) throws -> [String: Any] {
        try f.server.send("GET", "/api/v1/connections/\(id)", key: f.key).json
    }

    func onboard(_ f: OnboardingFixture, tenant: String, scope: String = "waba", signup: [String: String],
                 url: String? = nil) throws -> [String: Any] {
        var changes: [String: Any?] = ["webhookScope": scope]
        if let url { changes["webhookOverrideUrl"] = url }
        let link = try f.link(changes, tenant: tenant)
        try f.complete(link, code: signup["code"]!, waba: signup["wabaId"]!, phone: signup["phoneNumberId"])
        return try f.finished(link)
    }

    @Test func aRefusedChangeKeepsTheWABAsOverrideAtMetaAndRoutingIsReadBack() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let signup = try f.meta.signup()
        let session = try onboard(f, tenant: "cust_a", signup: signup)
        let id = try #require(session["connectionId"] as? String, "\(session)")
        var shown = try connection(f, id)
        let routing = shown["routing"] as? [String: Any]
        #expect(routing?["effectiveUrl"] as? String == f.hookURL && routing?["shadowed"] as? Bool == false)
        #expect(shown["webhookScope"] as? String == "waba" && shown["tokenExpiresAt"] is NSNull)
        // Subscribed once: the app was not subscribed yet, so the plain call could not remove anything.
        let calls = (try f.meta.state()["calls"] as? [[String: Any]] ?? []).map { "\($0["method"]!) \($0["path"]!)" }
        #expect(calls.filter { $0 == "POST /v25.0/\(signup["wabaId"]!)/subscribed_apps" }.count == 2, "one plain, one override: \(calls)")

        // A URL that fails Meta's handshake: refused, and Meta still routes to the old one.
        let refused = try f.server.send("PATCH", "/api/v1/connections/\(id)", key: f.key,
                                        json: #"{"webhookOverrideUrl":"\#(f.tenant.base)/other","webhookVerifyToken":"not-what-the-endpoint-expects"}"#)
        #expect(refused.status == 202)
        #expect(eventually(timeout: 20) {
            ((try? connection(f, id))?["webhookUpdate"] as? [String: Any])?["status"] as? String == "failed"
        })
        #expect(try f.meta.waba(signup["wabaId"]!)?["overrideCallbackUri"] as? String == f.hookURL)
        shown = try connection(f, id)
        #expect(shown["webhookOverrideUrl"] as? String == f.hookURL)
        #expect((shown["routing"] as? [String: Any])?["effectiveUrl"] as? String == f.hookURL)

        // Meta's message traffic for the number still reaches the tenant.
        let emitted = try f.meta.post("/_fake/emit", #"{"wabaId":"\#(signup["wabaId"]!)","phoneNumberId":"\#(signup["phoneNumberId"]!)","field":"messages","value":{"messaging_product":"whatsapp"}}"#)
        #expect(emitted["target"] as? String == f.hookURL && emitted["status"] as? Int != nil)
    }

    @Test func perNumberRoutingSetsOnlyTheNumbersOverrideAndALeftoverShowsAsShadowed() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let other = try LoopbackServer.handshakeReceiver(token: "s3cret")
        defer { other.stop() }
        let first = try f.meta.signup()
        let waba = first["wabaId"]!
        let a = try onboard(f, tenant: "cust_a", scope: "phone_number", signup: first)
        let aID = try #require(a["connectionId"] as? String, "\(a)")
        #expect(try f.meta.waba(waba)?["overrideCallbackUri"] is NSNull, "the WABA keeps no override")
        let phoneConfig = try f.meta.phone(first["phoneNumberId"]!, waba: waba)?["webhookConfiguration"] as? [String: Any]
        #expect(phoneConfig?["overrideCallbackUri"] as? String == f.hookURL)
        #expect((try connection(f, aID)["routing"] as? [String: Any])?["shadowed"] as? Bool == false)

        // A sibling of the same tenant routed to another URL keeps its own; PATCH moves only one.
        let second = try f.meta.signup(wabaID: waba)
        let b = try onboard(f, tenant: "cust_a", scope: "phone_number", signup: second, url: other.base + "/b")
        let bID = try #require(b["connectionId"] as? String, "\(b)")
        #expect(try connection(f, aID)["webhookOverrideUrl"] as? String == f.hookURL)
        let patched = try f.server.send("PATCH", "/api/v1/connections/\(bID)", key: f.key,
                                        json: #"{"webhookOverrideUrl":"\#(other.base)/b2","webhookVerifyToken":"s3cret"}"#)
        #expect(patched.status == 202)
        #expect(eventually(timeout: 20) { ((try? connection(f, bID))?["webhookUpdate"] as? [String: Any])?["status"] as? String == "applied" })
        #expect((try f.meta.phone(second["phoneNumberId"]!, waba: waba)?["webhookConfiguration"] as? [String: Any])?["overrideCallbackUri"] as? String
                == other.base + "/b2")
        #expect((try f.meta.phone(first["phoneNumberId"]!, waba: waba)?["webhookConfiguration"] as? [String: Any])?["overrideCallbackUri"] as? String
                == f.hookURL)
        #expect(try connection(f, aID)["webhookOverrideUrl"] as? String == f.hookURL)
        #expect((try connection(f, aID)["webhookUpdate"]) is NSNull)

        // A management change about one number (named by its display number, as Meta names it
        // in quality updates) goes to that number's connection and URL, not to its sibling's.
        let display = try #require(try connection(f, bID)["displayPhoneNumber"] as? String)
        let digits = display.filter(\.isNumber)
        let body = Data(#"{"object":"whatsapp_business_account","entry":[{"id":"\#(waba)","time":1760000000,"changes":[{"field":"phone_number_quality_update","value":{"display_phone_number":"\#(digits)","event":"FLAGGED","current_limit":"TIER_250"}}]}]}"#.utf8)
        let signature = "sha256=" + Digest.hmacSHA256(key: Data("dev-app-secret".utf8), message: body).hexString
        #expect(try f.server.send("POST", "/meta/webhook", headers: ["X-Hub-Signature-256": signature, "Content-Type": "application/json"],
                                  body: body).status == 200)
        #expect(eventually(timeout: 20) {
            (try? f.db.with { try $0.sql("SELECT connection_id FROM management_changes WHERE field = 'phone_number_quality_update'").scalar(String.self) }) == bID
        }, "forwarded for \(bID), the number it names")

        // DELETE clears only that number's override; the WABA stays subscribed for the other.
        #expect(try f.server.send("DELETE", "/api/v1/connections/\(bID)", key: f.key).status == 202)
        #expect(eventually(timeout: 20) { (try? connection(f, bID))?["status"] as? String == "disconnected" })
        #expect(try f.meta.phone(second["phoneNumberId"]!, waba: waba)?["webhookConfiguration"] is NSNull)
        #expect(try f.meta.waba(waba)?["subscribed"] as? Bool == true)
        #expect(try f.meta.phone(first["phoneNumberId"]!, waba: waba)?["webhookConfiguration"] as? [String: Any] != nil)

        // A number someone left with its own override: a WABA-wide onboarding does not reach it,
        // and the connection says so.
        let leftover = try f.meta.signup()
        let token = try graph(f).exchangeCode(leftover["code"]!, deadline: Date().addingTimeInterval(10)).access_token
        try graph(f).subscribe(waba: leftover["wabaId"]!, token: token, deadline: Date().addingTimeInterval(10))
        try graph(f).overridePhoneCallback(phone: leftover["phoneNumberId"]!, callbackURI: other.base + "/old", verifyToken: "s3cret",
                                           token: token, deadline: Date().addingTimeInterval(10))
        let again = try f.meta.signup(["wabaId": leftover["wabaId"]!, "phoneNumberId": leftover["phoneNumberId"]!])
        let c = try onboard(f, tenant: "cust_c", signup: again)
        let cID = try #require(c["connectionId"] as? String, "\(c)")
        let routing = try connection(f, cID)["routing"] as? [String: Any]
        #expect(routing?["effectiveUrl"] as? String == other.base + "/old")
        #expect(routing?["shadowed"] as? Bool == true)
        let emitted = try f.meta.post("/_fake/emit", #"{"wabaId":"\#(leftover["wabaId"]!)","phoneNumberId":"\#(leftover["phoneNumberId"]!)","field":"messages","value":{}}"#)
        #expect(emitted["target"] as? String == other.base + "/old", "Meta's precedence: the number's override first")
        // Template updates stay on the app's callback whatever the overrides.
        let template = try f.meta.post("/_fake/emit", #"{"wabaId":"\#(leftover["wabaId"]!)","field":"message_template_status_update","value":{"event":"APPROVED"}}"#)
        #expect(template["target"] as? String == f.server.baseURL + "/meta/webhook" && template["status"] as? Int == 200)
    }

    func graph(_ f: OnboardingFixture) -> GraphClient {
        GraphClient(configuration: .init(baseURL: f.meta.base, version: "v25.0", appID: "1234567890", appSecret: "dev-app-secret"),
                    http: HTTPClient(allowPrivateTargets: true))
    }
}
