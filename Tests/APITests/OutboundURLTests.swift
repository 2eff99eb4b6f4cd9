import Foundation
import TestSupport
import Testing

/// Without `DUALHOOK_ALLOW_PRIVATE_TARGETS`, URLs the platform will call are refused when they
/// are given if they point at private, loopback, link-local or metadata addresses (literals and
/// `localhost`); any other name is resolved, checked and pinned when it is called
/// (HTTPClientTests: a name resolving to loopback is refused).
@Suite(.serialized) struct OutboundURLTests {
    @Test func privateAndMetadataTargetsAreRefusedWhenGiven() throws {
        let f = try APIFixture()
        defer { f.close() }
        let targets = ["https://127.0.0.1/hook", "https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data",
                       "https://[::1]/hook", "https://localhost/hook", "http://api.example.com/hook"]
        for target in targets {
            let session = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                            json: sessionBody(["webhookOverrideUrl": target]))
            #expect(session.status == 400 && session.errorParam == "webhookOverrideUrl", "\(target): \(session.text)")
            let account = try f.server.send("PATCH", "/api/v1/account", key: f.account.apiKey, json: #"{"eventUrl":"\#(target)"}"#)
            #expect(account.status == 400 && account.errorParam == "eventUrl", "\(target): \(account.text)")
        }
        #expect(try f.count("onboarding_sessions") == 0)
        let event = try f.server.send("GET", "/api/v1/account", key: f.account.apiKey).json["eventUrl"]
        #expect(event == nil || event is NSNull, "nothing was set")
    }
}
