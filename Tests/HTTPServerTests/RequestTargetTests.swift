import Foundation
import HTTPClient
@testable import HTTPServer
import Testing
import TestSupport

/// The path reaches the handler as the client sent it (the router decodes each parameter
/// once), and query values are decoded whole: libmicrohttpd's decoded path split `%2F`, and
/// C strings cut `%00` short unseen.
@Suite struct RequestTargetTests {
    @Test func thePathArrivesAsSentAndQueryValuesWhole() throws {
        let server = try LoopbackServer { request in
            let query = request.query.keys.sorted().map { "\($0)=\(request.query[$0]!)" }.joined(separator: "&")
            return .text(200, request.path + "?" + query)
        }
        defer { server.stop() }
        let client = HTTPClient(allowPrivateTargets: true)
        let answer = try client.send(.init(url: server.base + "/connections/con_a%2Fb%00c%2541?x=1%002&y=%41%42+c&z=%zz&w=%4&k%00ey=v"),
                                     deadline: Date().addingTimeInterval(5))
        #expect(answer.status == 200)
        #expect(String(decoding: answer.body, as: UTF8.self) == "/connections/con_a%2Fb%00c%2541?k\u{0}ey=v&w=%4&x=1\u{0}2&y=AB c&z=%zz")
    }

    @Test func eachRequestOfAConnectionHasItsOwnPathAndAnOversizedOneSpoilsNone() throws {
        let server = try LoopbackServer { .text(200, $0.path) }
        defer { server.stop() }
        let client = HTTPClient(allowPrivateTargets: true)
        // One thread, one curl handle: the requests share a kept-alive connection.
        for path in ["/a%2Fb", "/c", "/d%00e"] {
            let answer = try client.send(.init(url: server.base + path), deadline: Date().addingTimeInterval(5))
            #expect(String(decoding: answer.body, as: UTF8.self) == path)
        }
        // Headers past the connection's memory: libmicrohttpd answers 431 itself.
        let big = try client.send(.init(url: server.base + "/big", headers: [("X-Big", String(repeating: "x", count: 70_000))]),
                                  deadline: Date().addingTimeInterval(5))
        #expect(big.status == 431)
        let after = try client.send(.init(url: server.base + "/after"), deadline: Date().addingTimeInterval(5))
        #expect(String(decoding: after.body, as: UTF8.self) == "/after")
    }

    @Test func theTargetsPathIsItsOriginFormsOrTheAbsoluteFormsPath() {
        #expect(RequestState.path(ofTarget: "/a%2Fb?x=1#f") == "/a%2Fb")
        #expect(RequestState.path(ofTarget: "http://example.test:8080/api/v1/x?y") == "/api/v1/x")
        #expect(RequestState.path(ofTarget: "https://example.test") == "/")
        #expect(RequestState.path(ofTarget: "*") == "*")
    }

    @Test func theRouterDecodesEachParameterOnce() {
        var router = Router<String>()
        router.add("GET", "/connections/{id}", "connection")
        guard case .found(_, let parameters) = router.match(method: "GET", path: "/connections/con_a%2Fb%00c%2541") else {
            Issue.record("expected a match"); return
        }
        #expect(parameters == ["id": "con_a/b\u{0}c%41"])
    }
}
