import Foundation
import HTTPClient
import Postgres
import TestSupport
import Testing
@testable import Dualhook

/// Failed sign-ins are limited (README: 5 a minute per email, 20 per address); successful ones
/// are not counted, so someone who signs in often never locks themselves out.
@Suite(.serialized) struct SignInLimitTests {
    @Test func successfulSignInsAreNotCountedAndTheSixthFailureIsRefused() throws {
        let f = try APIFixture()
        defer { f.close() }
        let created = try f.db.with {
            try UserStore.create(email: "often@acme.test", accountID: f.account.accountId, role: "owner", publicURL: "http://dashboard.test", on: $0)
        }
        let link = String(created.signInUrl.split(separator: "/").last!)
        try f.db.with { c in
            try c.transaction { tx in
                let user = try #require(try UserStore.linkOwner(token: link, on: tx))
                try UserStore.setPassword(token: link, userID: user.id, password: "correct horse battery", on: tx)
            }
        }
        let client = HTTPClient(allowPrivateTargets: true)
        // The form's token and its cookie, sent with every attempt.
        // (URLSession.shared would keep the cookie for 127.0.0.1 and send it in place of other
        // suites' own, whatever their port.)
        let page = try client.send(.init(url: f.server.baseURL + "/dashboard/login"), deadline: Date().addingTimeInterval(10))
        let cookie = try #require(page.header("Set-Cookie")?.split(separator: ";").first.map(String.init))
        let token = try #require(String(decoding: page.body, as: UTF8.self).firstMatch(of: #/name="csrfToken" value="([^"]+)"/#)?.1)
        func attempt(_ password: String) throws -> HTTPClient.Response {
            let password = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
            // A client of its own: no cookie kept, no redirect followed (URLSession.shared does both).
            return try client.send(.init(method: "POST", url: f.server.baseURL + "/dashboard/login",
                                         headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", cookie)],
                                         body: Data("email=often%40acme.test&password=\(password)&csrfToken=\(token)".utf8)),
                                   deadline: Date().addingTimeInterval(10))
        }
        func signIn(_ password: String) throws -> Int { try attempt(password).status }
        // All of it within one of the limit's one-minute windows (Postgres' clock keeps them).
        let second = try f.db.with { try $0.sql("SELECT extract(second FROM clock_timestamp())::float8").scalar(Double.self) } ?? 0
        if second > 40 { Thread.sleep(forTimeInterval: 61 - second) }
        // Eight in a row, each one right: all let in.
        #expect(try (0..<8).map { _ in try signIn("correct horse battery") } == Array(repeating: 303, count: 8))
        // Five wrong ones are answered as wrong; the sixth is refused, and so is the right one now.
        #expect(try (0..<5).map { _ in try signIn("wrong") } == Array(repeating: 401, count: 5))
        #expect(try signIn("wrong") == 429)
        let refused = try attempt("correct horse battery")
        #expect(refused.status == 429)
        #expect(refused.header("Retry-After").flatMap(Int.init).map { (1...60).contains($0) } == true, "when the window ends")
    }
}
