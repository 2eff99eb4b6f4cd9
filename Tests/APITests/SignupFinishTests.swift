import Foundation
import JobQueue
import Postgres
import TestSupport
import Testing

/// Embedded Signup finishes as Meta sends them, numbers as Meta verifies and registers them,
/// Coexistence syncs as Meta allows them, and tokens that expire.
@Suite(.serialized) struct SignupFinishTests {
    func status(_ f: OnboardingFixture, _ link: OnboardingFixture.Link) -> String? {
        try? f.db.with { try $0.sql("SELECT status FROM onboarding_sessions WHERE id = \(link.sessionID)").scalar(String.self) }
    }

    func registerCalls(_ f: OnboardingFixture, _ phone: String, _ waba: String) throws -> Int? {
        try f.meta.phone(phone, waba: waba)?["registerCalls"] as? Int
    }

    /// Brings a waiting job's next run forward (as a sweep would have it due).
    func runNow(_ f: OnboardingFixture, kind: String) throws {
        try f.db.with { try JobAdmin.runNow(kind: kind, on: $0) }
    }

    @Test func aWABAWithoutAVerifiedNumberWaitsAndCompletesWhenOneAppears() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        // FINISH_ONLY_WABA: the WABA is shared, its number comes later.
        let link = try f.link()
        let signup = try f.meta.signup(["finish": "FINISH_ONLY_WABA"])
        let waba = signup["wabaId"]!
        #expect(signup["phoneNumberId"] == nil)
        try f.complete(link, code: signup["code"]!, waba: waba, phone: nil, event: "FINISH_ONLY_WABA")
        #expect(eventually(timeout: 30) { status(f, link) == "awaiting_number" })
        #expect(try f.status(link)["redirectUrl"] as? String == "https://app.example.com/done?sessionId=\(link.sessionID)&status=awaiting_number")
        #expect(try f.meta.waba(waba)?["overrideCallbackUri"] as? String == f.hookURL, "subscribed with the override while it waits")
        #expect(try f.events("onboarding.awaiting_number").first?["wabaId"] as? String == waba)
        #expect(try f.events("onboarding.awaiting_number").first?["phoneNumberId"] == nil, "no number known: none named")

        // An unverified number appears: still waiting, and it is never registered.
        let unverified = try f.meta.post("/_fake/wabas/\(waba)/phones", #"{"verified":false}"#)["phoneNumberId"] as! String
        try runNow(f, kind: "onboarding.await_number")
        Thread.sleep(forTimeInterval: 2)
        #expect(status(f, link) == "awaiting_number")
        #expect(try registerCalls(f, unverified, waba) == 0)

        // The owner verifies it: the session completes by itself, and only now is it registered.
        try f.meta.post("/_fake/phones/\(unverified)", #"{"verified":true}"#)
        try runNow(f, kind: "onboarding.await_number")
        #expect(eventually(timeout: 30) { status(f, link) == "completed" })
        let session = try f.session(link)
        let row = try #require(try f.connection(session["connectionId"] as? String ?? ""))
        #expect(try row.decode(String.self, "phone_number_id") == unverified && row.decode(Bool.self, "registered"))
        #expect(try f.meta.phone(unverified, waba: waba)?["registered"] as? Bool == true)
        #expect(try f.events("onboarding.completed").last?["phoneNumberId"] as? String == unverified)
    }

    @Test func anUnverifiedNumberIsNeverRegisteredAndCoexistencePicksOnlyTheAppsNumber() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        // FINISH names an unverified number: waiting, not registered.
        let link = try f.link()
        let signup = try f.meta.signup(["verified": false])
        try f.complete(link, code: signup["code"]!, waba: signup["wabaId"]!, phone: signup["phoneNumberId"]!)
        #expect(eventually(timeout: 30) { status(f, link) == "awaiting_number" })
        #expect(try registerCalls(f, signup["phoneNumberId"]!, signup["wabaId"]!) == 0)
        let waiting = try #require(try f.events("onboarding.awaiting_number").first)
        #expect(waiting["phoneNumberId"] as? String == signup["phoneNumberId"]!, "the number the browser reported is known: \(waiting)")

        // A WABA with a Cloud API number and a Coexistence one; the app's finish names only the
        // WABA: the app's number is connected, the other is left alone.
        let coexistence = try f.link(["coexistence": true], tenant: "cust_b")
        let cloud = try f.meta.signup(["mode": "cloud_api"])
        let waba = cloud["wabaId"]!
        let app = try f.meta.post("/_fake/wabas/\(waba)/phones", #"{"mode":"coexistence"}"#)["phoneNumberId"] as! String
        let code = try f.meta.signup(["wabaId": waba, "phoneNumberId": app, "finish": "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"])["code"]!
        try f.complete(coexistence, code: code, waba: waba, phone: nil, event: "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING")
        let done = try f.finished(coexistence)
        #expect(done["status"] as? String == "completed", "\(done)")
        let connections = try f.db.with {
            try $0.sql("SELECT phone_number_id, connection_mode FROM connections WHERE waba_id = \(waba)").rows
                .map { "\(try $0.decode(String.self, at: 0)):\(try $0.decode(String.self, at: 1))" }
        }
        #expect(connections == ["\(app):coexistence"])
        #expect(try registerCalls(f, cloud["phoneNumberId"]!, waba) == 0)
        // Its sync was asked once per type, contacts first, with Meta's request ids kept.
        #expect(try f.meta.phone(app, waba: waba)?["syncRequests"] as? [String] == ["smb_app_state_sync", "history"])
        let kept = try f.db.with { try $0.sql("SELECT sync_requests::text FROM connections WHERE phone_number_id = \(app)").scalar(String.self) }
        let requests = try JSONSerialization.jsonObject(with: Data((kept ?? "{}").utf8)) as? [String: String]
        #expect(requests?.keys.sorted() == ["history", "smb_app_state_sync"] && requests?.values.allSatisfy { $0.count == 24 } == true)
    }

    @Test func metasRegistrationLimitDefersRegistrationInsteadOfFailing() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let link = try f.link()
        let signup = try f.meta.signup()
        try f.meta.fault("POST /v25.0/\(signup["phoneNumberId"]!)/register", status: 400,
                         body: #"{"error":{"message":"Account register deregister rate limit exceeded","type":"OAuthException","code":133016,"fbtrace_id":"Ax"}}"#)
        try f.complete(link, code: signup["code"]!, waba: signup["wabaId"]!, phone: signup["phoneNumberId"]!)
        let session = try f.finished(link)
        #expect(session["status"] as? String == "completed", "\(session)")
        let id = session["connectionId"] as? String ?? ""
        #expect(try f.connection(id)?.decode(Bool.self, "registered") == false)
        // The registration waits for Meta's window; brought forward, it goes through.
        let waiting = try f.db.with { try $0.sql("SELECT count(*) FROM jobs WHERE kind = 'connections.register' AND state = 'available'").scalar(Int.self) }
        #expect(waiting == 1)
        try runNow(f, kind: "connections.register")
        #expect(eventually(timeout: 20) { (try? f.connection(id)?.decode(Bool.self, "registered")) == true })
        #expect(try f.meta.phone(signup["phoneNumberId"]!, waba: signup["wabaId"]!)?["registered"] as? Bool == true)
    }

    @Test func anExpiringTokenIsAnnouncedAndAnExpiredOneDisconnects() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let link = try f.link()
        let signup = try f.meta.signup(["tokenExpiresIn": 5])
        try f.complete(link, code: signup["code"]!, waba: signup["wabaId"]!, phone: signup["phoneNumberId"]!)
        let session = try f.finished(link)
        let id = try #require(session["connectionId"] as? String, "\(session)")
        let shown = try f.server.send("GET", "/api/v1/connections/\(id)", key: f.key).json
        let expiresAt = try #require(shown["tokenExpiresAt"] as? String)
        let expiry = try #require(parseTimestamp(expiresAt))
        #expect(abs(expiry.timeIntervalSinceNow) < 10)

        func sweep() throws {
            let process = try DualhookProcess(["sweep", "token-expiry"], databaseURL: f.db.url, label: "sweep")
            _ = process.waitForExit(timeout: 20)
        }
        try sweep()
        #expect(eventually(timeout: 20) { (try? f.events("connection.token_expiring").count) == 1 })
        #expect(try f.events("connection.token_expiring").first?["connectionId"] as? String == id)
        Thread.sleep(forTimeInterval: max(0, expiry.timeIntervalSinceNow) + 1)
        try sweep()
        #expect(eventually(timeout: 30) { (try? f.connection(id)?.decode(String.self, "status")) == "disconnected" })
        #expect(try f.events("connection.disconnected").last?["reason"] as? String == "token_expired")
        #expect(try f.events("connection.token_expiring").count == 1, "announced once")
    }

    @Test func aUserReportedErrorFailsTheSessionWithWhatTheyReported() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let link = try f.link()
        let answer = try f.server.send("POST", "/onboard/\(link.token)/cancel",
                                       json: #"{"currentStep":"PHONE_NUMBER_VERIFICATION","errorMessage":"The code did not arrive","errorId":"524126","metaSessionId":"f34b51"}"#)
        #expect(answer.status == 200)
        #expect(answer.json["redirectUrl"] as? String
                == "https://app.example.com/error?sessionId=\(link.sessionID)&status=failed&reason=signup_error")
        let session = try f.session(link)
        #expect(session["status"] as? String == "failed" && session["failureReason"] as? String == "signup_error")
        let detail = session["failureDetail"] as? [String: Any]
        #expect(detail?["errorMessage"] as? String == "The code did not arrive" && detail?["errorId"] as? String == "524126")
        #expect(detail?["currentStep"] as? String == "PHONE_NUMBER_VERIFICATION")
        let event = try #require(try f.events("onboarding.failed").last)
        #expect(event["reason"] as? String == "signup_error" && event["errorMessage"] as? String == "The code did not arrive")
        #expect(event["errorId"] as? String == "524126" && event["currentStep"] as? String == "PHONE_NUMBER_VERIFICATION")

        // Without an error it is the person's choice: cancelled.
        let other = try f.link()
        let cancelled = try f.server.send("POST", "/onboard/\(other.token)/cancel", json: #"{"currentStep":"BUSINESS_ACCOUNT_SELECTION"}"#)
        #expect(cancelled.json["redirectUrl"] as? String == "https://app.example.com/cancel?sessionId=\(other.sessionID)&status=cancelled")
        #expect(try f.session(other)["failureDetail"] is NSNull)
    }
}

/// An RFC 3339 timestamp with milliseconds, as the API prints them.
func parseTimestamp(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text)
}
