import Foundation
import HTTPServer
import Testing
@testable import Dualhook

@Suite struct SessionCreatedJSONTests {
    /// The 201 body written by hand is what `Response.json` wrote before, byte for byte, for
    /// the values a session answer holds; and for a URL with characters to escape it is JSON
    /// that reads back to the same fields.
    @Test func theCreatedBodyIsWhatTheEncoderWrote() throws {
        let expires = Date(timeIntervalSince1970: 1_796_000_000.123)
        let created = SessionRoutes.Created(sessionId: Identifiers.make("ses"),
                                            onboardingUrl: "https://onboard.example.com/base/onboard/\(Identifiers.onboardingToken())",
                                            status: "created", expiresAt: expires)
        #expect(created.json == Response.json(201, created).body)
        #expect(String(decoding: created.json, as: UTF8.self).contains(#""expiresAt":"2026-11-30T00:53:20.123Z""#))

        let odd = SessionRoutes.Created(sessionId: "ses_\"q\"\\", onboardingUrl: "http://h/ü/\u{1}\n/onboard/t", status: "created",
                                        expiresAt: expires)
        let read = try #require(try JSONSerialization.jsonObject(with: odd.json) as? [String: String])
        let expected = try #require(try JSONSerialization.jsonObject(with: Response.json(201, odd).body) as? [String: String])
        #expect(read == expected)
        #expect(read["onboardingUrl"] == "http://h/ü/\u{1}\n/onboard/t")
    }
}
