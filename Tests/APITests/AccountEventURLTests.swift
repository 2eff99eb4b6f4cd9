import Foundation
import TestSupport
import Testing

/// The account's `eventUrl` is its default event endpoint: setting it counts toward the 20
/// endpoints an account may have, and `null` clears it (and an optional logo) as PATCH says.
@Suite(.serialized) struct AccountEventURLTests {
    @Test func theEventURLCountsTowardTheLimitAndNullClearsIt() throws {
        let f = try APIFixture()
        defer { f.close() }
        let key = f.account.apiKey
        func endpoints() throws -> [[String: Any]] {
            try f.server.send("GET", "/api/v1/event-endpoints?limit=100", key: key).json["data"] as? [[String: Any]] ?? []
        }
        #expect(try f.server.send("PATCH", "/api/v1/account", key: key, json: #"{"eventUrl":null,"logoUrl":"https://cdn.example.com/logo.png"}"#).status == 200)
        #expect(try endpoints().isEmpty)
        for n in 0..<20 {
            #expect(try f.server.send("POST", "/api/v1/event-endpoints", key: key, json: #"{"url":"https://hooks.example.com/\#(n)"}"#).status == 201)
        }
        let refused = try f.server.send("PATCH", "/api/v1/account", key: key, json: #"{"eventUrl":"https://events.example.com/default"}"#)
        #expect(refused.status == 409 && refused.errorCode == "conflict" && refused.errorParam == "eventUrl")
        #expect(try endpoints().count == 20, "nothing half-written")
        #expect(try f.server.send("GET", "/api/v1/account", key: key).json["eventUrl"] is NSNull)
        let first = try #require(try endpoints().first?["endpointId"] as? String)
        #expect(try f.server.send("DELETE", "/api/v1/event-endpoints/\(first)", key: key).status == 200)
        #expect(try f.server.send("PATCH", "/api/v1/account", key: key, json: #"{"eventUrl":"https://events.example.com/default"}"#).status == 200)
        #expect(try endpoints().count == 20 && endpoints().contains { $0["isDefault"] as? Bool == true })
        // Moving it keeps one default endpoint; null removes it, and the logo with it when asked.
        #expect(try f.server.send("PATCH", "/api/v1/account", key: key, json: #"{"eventUrl":"https://events.example.com/moved"}"#).status == 200)
        #expect(try endpoints().count == 20)
        let cleared = try f.server.send("PATCH", "/api/v1/account", key: key, json: #"{"eventUrl":null,"logoUrl":null}"#)
        #expect(cleared.status == 200 && cleared.json["eventUrl"] is NSNull && cleared.json["logoUrl"] is NSNull, "\(cleared.status) \(cleared.text.prefix(400))")
        #expect(try endpoints().count == 19 && !endpoints().contains { $0["isDefault"] as? Bool == true })
        // The page's colour and contacts clear the same way.
        #expect(try f.server.send("PATCH", "/api/v1/account", key: key,
                                  json: ##"{"brandColor":"#0a7cff","supportEmail":"help@example.com","supportUrl":"https://help.example.com"}"##).status == 200)
        let plain = try f.server.send("PATCH", "/api/v1/account", key: key, json: #"{"brandColor":null,"supportEmail":null,"supportUrl":null}"#).json
        #expect(plain["brandColor"] is NSNull && plain["supportEmail"] is NSNull && plain["supportUrl"] is NSNull, "\(plain)")
    }
}
