import Foundation
import Postgres
import TestSupport
import Testing

@Suite(.serialized) struct SessionValidationTests {
    static var rejected: [(String, [String: Any?])] { [
        ("tenantId", ["tenantId": nil]),
        ("tenantId", ["tenantId": ""]),
        ("tenantId", ["tenantId": String(repeating: "t", count: 129)]),
        ("tenantId", ["tenantId": 42]),
        ("tenantId", ["tenantId": "   "]),
        ("tenantId", ["tenantId": "cust\n42"]),
        ("tenantName", ["tenantName": "\u{3000}"]),
        ("tenantId", ["tenantId": "\u{FEFF}"]),
        ("successRedirectUrl", ["successRedirectUrl": nil]),
        ("successRedirectUrl", ["successRedirectUrl": "/relative"]),
        ("failureRedirectUrl", ["failureRedirectUrl": "https://evil.example.net/x"]),
        ("cancelRedirectUrl", ["cancelRedirectUrl": "javascript:alert(1)"]),
        ("webhookOverrideUrl", ["webhookOverrideUrl": nil]),
        ("webhookOverrideUrl", ["webhookOverrideUrl": "http://api.example.com/hook"]),
        ("webhookOverrideUrl", ["webhookOverrideUrl": "https://api.example.com/" + String(repeating: "a", count: 190)]),
        ("webhookVerifyToken", ["webhookVerifyToken": nil]),
        ("webhookVerifyToken", ["webhookVerifyToken": ""]),
        ("webhookVerifyToken", ["webhookVerifyToken": "has space"]),
        ("webhookVerifyToken", ["webhookVerifyToken": String(repeating: "v", count: 129)]),
        ("metadata", ["metadata": "not an object"]),
        ("metadata", ["metadata": ["blob": String(repeating: "m", count: 4200)]]),
        ("metadata", ["metadata": ["nested": ["k\u{0}ey": "v"]]]),
        ("metadata", ["metadata": ["list": ["a", "b\u{0}"]]]),
        ("tenantId", ["tenantId": "cust\u{0}42"]),
        ("coexistence", ["coexistence": "yes"]),
        ("coexistence", ["coexistence": 1]),
        ("expiresInSeconds", ["expiresInSeconds": 299]),
        ("expiresInSeconds", ["expiresInSeconds": 86_401]),
        ("expiresInSeconds", ["expiresInSeconds": 1.5]),
        ("tenantNmae", ["tenantNmae": "typo"]),
    ] }

    @Test func eachRuleIsRejectedNamingItsFieldAndNothingIsWritten() throws {
        let f = try APIFixture()
        defer { f.close() }
        for (param, change) in Self.rejected {
            let result = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, json: sessionBody(change))
            #expect(result.status == 400, "\(change)")
            #expect(result.errorCode == "validation_failed", "\(change)")
            #expect(result.errorParam == param, "\(change): \(result.text)")
        }
        for body in ["{", "[1,2]", "", "\"text\""] {
            let result = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, json: body)
            #expect(result.status == 400 && result.errorCode == "invalid_json", "\(body)")
        }
        let huge = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                     body: Data(repeating: UInt8(ascii: "a"), count: 2 << 20))
        #expect(huge.status == 413 && huge.errorCode == "payload_too_large")
        for table in ["onboarding_sessions", "tenants", "events", "jobs", "idempotency_keys"] {
            #expect(try f.count(table) == 0, "\(table) must stay empty")
        }
    }

    @Test func aValidSessionIsStoredWithItsTokenHashedAndItsCheckQueued() throws {
        let f = try APIFixture()
        defer { f.close() }
        let result = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                       json: sessionBody(["coexistence": true, "expiresInSeconds": 600]))
        #expect(result.status == 201)
        let url = result.json["onboardingUrl"] as! String
        #expect(url.hasPrefix("https://onboard.test/onboard/"))
        let token = String(url.split(separator: "/").last!)
        #expect(token.count == 43)
        #expect(result.json["status"] as? String == "created")
        let id = result.json["sessionId"] as! String
        try f.db.with { connection throws in
            let row = try connection.sql("""
                SELECT token_hash = sha256(convert_to(\(token), 'UTF8')), coexistence,
                       extract(epoch FROM expires_at - created_at)::int, metadata->>'plan'
                FROM onboarding_sessions WHERE id = \(id)
                """)[0]
            #expect(try row.decode(Bool.self, at: 0), "only the token's hash is stored")
            #expect(try row.decode(Bool.self, at: 1))
            #expect(try row.decode(Int.self, at: 2) == 600)
            #expect(try row.decode(String.self, at: 3) == "pro")
            let dump = try connection.sql("SELECT count(*) FROM onboarding_sessions WHERE position(\(token) in row_to_json(onboarding_sessions)::text) > 0").scalar(Int.self)
            #expect(dump == 0, "the token is nowhere in the session row")
            let verify = try connection.sql("SELECT webhook_verify_token FROM onboarding_sessions WHERE id = \(id)").scalar(String.self)
            #expect(verify?.hasPrefix("v1:") == true && verify?.contains("s3cret") == false, "the verify token is sealed")
            let job = try connection.sql("SELECT queue, args->>'sessionId' FROM jobs WHERE kind = 'onboarding.webhook_check'")[0]
            #expect(try job.decode(String.self, at: 0) == "meta")
            #expect(try job.decode(String.self, at: 1) == id)
        }
        let fetched = try f.server.send("GET", "/api/v1/onboarding/sessions/\(id)", key: f.account.apiKey)
        #expect(fetched.json["webhookCheck"] as? String == "pending")
        #expect((fetched.json["metadata"] as? [String: Any])?["plan"] as? String == "pro")
    }

    @Test func listsFilterAndPage() throws {
        let f = try APIFixture()
        defer { f.close() }
        for i in 0..<5 {
            _ = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                  json: sessionBody(tenant: i % 2 == 0 ? "even" : "odd"))
        }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try f.server.send("GET", "/api/v1/onboarding/sessions?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""),
                                         key: f.account.apiKey)
            let data = page.json["data"] as! [[String: Any]]
            #expect(data.count <= 2)
            seen += data.map { $0["sessionId"] as! String }
            cursor = page.json["nextCursor"] as? String
        } while cursor != nil
        #expect(seen.count == 5 && Set(seen).count == 5)
        let even = try f.server.send("GET", "/api/v1/onboarding/sessions?tenantId=even&status=created", key: f.account.apiKey)
        #expect((even.json["data"] as? [Any])?.count == 3)
        #expect(try f.server.send("GET", "/api/v1/onboarding/sessions?limit=0", key: f.account.apiKey).errorParam == "limit")
        #expect(try f.server.send("GET", "/api/v1/onboarding/sessions?status=bogus", key: f.account.apiKey).errorParam == "status")
        #expect(try f.server.send("GET", "/api/v1/onboarding/sessions?cursor=%%%", key: f.account.apiKey).errorParam == "cursor")
    }
}
