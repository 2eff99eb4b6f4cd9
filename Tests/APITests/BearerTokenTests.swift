import Foundation
import HTTPServer
import Testing
@testable import Dualhook

/// The API key as the Authorization header carries it.
@Suite struct BearerTokenTests {
    func token(_ authorization: String?) -> String? {
        let headers = authorization.map { ["authorization": $0] } ?? [:]
        return Authentication.bearerToken(Request(method: "GET", path: "/api/v1/account", headers: headers, query: [:], body: Data(),
                                                  requestID: "req_test", clientIP: "127.0.0.1"))
    }

    @Test func theSchemeIsCaseInsensitiveAndSpacesAndTabsAroundTheKeyGo() {
        #expect(token("Bearer dh_live_abc") == "dh_live_abc")
        #expect(token("bearer dh_live_abc") == "dh_live_abc")
        #expect(token("BEARER  \t dh_live_abc \t ") == "dh_live_abc")
        #expect(token("Bearer dh_live_a b") == "dh_live_a b")
    }

    @Test func anythingElseIsNoToken() {
        #expect(token(nil) == nil)
        #expect(token("Basic abc") == nil)
        #expect(token("Bearer") == nil)
        #expect(token("Bearerdh_live_abc") == nil)
        #expect(token("Bearer    ") == "")
    }
}
