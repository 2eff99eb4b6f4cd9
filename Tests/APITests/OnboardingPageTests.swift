import Foundation
import Postgres
import TestSupport
import Testing

/// The link's public side over real HTTP: the page, complete, cancel, status.
@Suite(.serialized) struct OnboardingPageTests {
    func link(_ f: APIFixture, _ changes: [String: Any?] = [:]) throws -> (id: String, token: String) {
        let created = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, json: sessionBody(changes))
        let url = created.json["onboardingUrl"] as! String
        return (created.json["sessionId"] as! String, String(url.split(separator: "/").last!))
    }

    func events(_ f: APIFixture, _ type: String) throws -> [String] {
        try f.db.with { try $0.sql("SELECT data::text FROM events WHERE type = \(type) ORDER BY created_at").rows.map { try $0.decode(String.self, at: 0) } }
    }

    @Test func thePageIsCoBrandedEscapedAndOpensTheSessionOnce() throws {
        let f = try APIFixture(environment: ["META_SDK_URL": "http://127.0.0.1:9/sdk.js", "META_CONFIG_ID": "cfg-1"])
        defer { f.close() }
        let (id, token) = try link(f, ["tenantName": "Clinic <script>alert(1)</script> & Co", "coexistence": true])
        let page = try f.server.send("GET", "/onboard/\(token)")
        #expect(page.status == 200)
        #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(page.header("Cache-Control") == "no-store")
        let html = page.text
        #expect(html.contains("Acme Health"))
        #expect(html.contains("Clinic &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"))
        #expect(!html.contains("<script>alert(1)"))
        #expect(html.contains(#"id="connect""#))
        #expect(html.contains(#""sdkUrl":"http:\/\/127.0.0.1:9\/sdk.js""#) || html.contains(#""sdkUrl":"http://127.0.0.1:9/sdk.js""#))
        #expect(html.contains(#""configId":"cfg-1""#) && html.contains(#""coexistence":true"#))
        #expect(!html.contains("s3cret"), "the verify token never reaches the browser")

        // The page's script reports the person; the GET alone counted nothing.
        #expect(try f.server.send("GET", "/api/v1/onboarding/sessions/\(id)", key: f.account.apiKey).json["status"] as? String == "created")
        #expect(try f.server.send("POST", "/onboard/\(token)/open").status == 204)
        let session = try f.server.send("GET", "/api/v1/onboarding/sessions/\(id)", key: f.account.apiKey)
        #expect(session.json["status"] as? String == "opened")
        #expect(try f.server.send("POST", "/onboard/\(token)/open").status == 204)
        let started = try events(f, "onboarding.started")
        #expect(started.count == 1, "only the first open starts")
        #expect(started.first?.contains(#""sessionId": "\#(id)""#) == true)
        #expect(started.first?.contains(#""tenantId": "cust_42""#) == true)
        #expect(started.first?.contains("\"plan\": \"pro\"") == true)

        #expect(try f.server.send("GET", "/onboard/not-a-token").status == 404)
    }

    @Test func completeQueuesTheExchangeWithTheCodeSealedAndTheLinkWorksOnce() throws {
        let f = try APIFixture()
        defer { f.close() }
        let (id, token) = try link(f)
        let bad = try f.server.send("POST", "/onboard/\(token)/complete", json: #"{"code":"c","wabaId":"12ab"}"#)
        #expect(bad.status == 400 && bad.errorParam == "wabaId")
        let missing = try f.server.send("POST", "/onboard/\(token)/complete", json: #"{"wabaId":"123"}"#)
        #expect(missing.status == 400 && missing.errorParam == "code")

        let done = try f.server.send("POST", "/onboard/\(token)/complete",
                                     json: #"{"code":"AQ-secret-code","wabaId":"111","phoneNumberId":"555","event":"FINISH"}"#)
        #expect(done.status == 202)
        let status = try f.server.send("GET", "/onboard/\(token)/status")
        #expect(status.json["status"] as? String == "exchanging")
        #expect(status.json["redirectUrl"] is NSNull)
        try f.db.with { connection throws in
            let job = try connection.sql("SELECT queue, priority, args::text FROM jobs WHERE kind = 'onboarding.exchange_code'")
            #expect(job.rowCount == 1)
            #expect(try job[0].decode(String.self, at: 0) == "onboarding")
            let args = try job[0].decode(String.self, at: 2)
            #expect(args.contains(id) && args.contains("\"wabaId\": \"111\""))
            #expect(!args.contains("AQ-secret-code"), "the code is sealed in the job")
        }
        let again = try f.server.send("POST", "/onboard/\(token)/complete", json: #"{"code":"x","wabaId":"111"}"#)
        #expect(again.status == 409 && again.errorCode == "session_used")
        let reopened = try f.server.send("GET", "/onboard/\(token)")
        // Loaded again while the code is exchanged: the page that follows the session to its
        // redirect (its script polls), not one that leaves the person there.
        #expect(reopened.status == 200 && reopened.text.contains(#""connecting":true"#) && reopened.text.contains("Acme Health"))
        #expect(!reopened.text.contains("AQ-secret-code"))
    }

    @Test func cancelAndExpiryEndInTheirRedirects() throws {
        let f = try APIFixture()
        defer { f.close() }
        let (id, token) = try link(f)
        let cancelled = try f.server.send("POST", "/onboard/\(token)/cancel", json: #"{"currentStep":"PHONE_NUMBER_SETUP"}"#)
        #expect(cancelled.status == 200)
        #expect(cancelled.json["redirectUrl"] as? String == "https://app.example.com/cancel?sessionId=\(id)&status=cancelled")
        let status = try f.server.send("GET", "/onboard/\(token)/status")
        #expect(status.json["status"] as? String == "cancelled")
        #expect(status.json["redirectUrl"] as? String == "https://app.example.com/cancel?sessionId=\(id)&status=cancelled")
        let failed = try events(f, "onboarding.failed")
        #expect(failed.count == 1 && failed[0].contains("\"reason\": \"cancelled\"") && failed[0].contains("PHONE_NUMBER_SETUP"))
        #expect(failed.count == 1 && failed[0].contains("\"cancelledBy\": \"end_user\""), "not final: the link still works")

        let (late, lateToken) = try link(f)
        try f.db.with { try $0.sql("UPDATE onboarding_sessions SET expires_at = now() - interval '1 second' WHERE id = \(late)") }
        let page = try f.server.send("GET", "/onboard/\(lateToken)")
        #expect(page.status == 410 && page.text.contains("expired"))
        let lateStatus = try f.server.send("GET", "/onboard/\(lateToken)/status")
        #expect(lateStatus.json["status"] as? String == "expired")
        #expect(lateStatus.json["redirectUrl"] as? String == "https://app.example.com/error?sessionId=\(late)&status=failed&reason=expired")
        let complete = try f.server.send("POST", "/onboard/\(lateToken)/complete", json: #"{"code":"x","wabaId":"1"}"#)
        #expect(complete.status == 410 && complete.errorCode == "session_expired")
    }
}
