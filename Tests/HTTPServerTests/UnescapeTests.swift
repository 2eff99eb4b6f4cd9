import Foundation
import HTTPClient
import HTTPServer
import Testing
import TestSupport

/// The URL and its arguments are decoded as usual, but `%00` stays as written: decoded, it
/// would cut the C string libmicrohttpd hands over, and `/x%00y` would be read as `/x`.
@Suite struct UnescapeTests {
    @Test func escapesAreDecodedButNULIsKeptAsWritten() throws {
        let server = try LoopbackServer { request in
            let query = request.query.keys.sorted().map { "\($0)=\(request.query[$0]!)" }.joined(separator: "&")
            return .text(200, request.path + "?" + query)
        }
        defer { server.stop() }
        let client = HTTPClient(allowPrivateTargets: true)
        let answer = try client.send(.init(url: server.base + "/connections/con_a%00b%41?x=1%002&y=%41%42&z=%zz&w=%4"),
                                     deadline: Date().addingTimeInterval(5))
        #expect(answer.status == 200)
        #expect(String(decoding: answer.body, as: UTF8.self) == "/connections/con_a%00bA?w=%4&x=1%002&y=AB&z=%zz")
    }
}
