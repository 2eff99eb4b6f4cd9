import Foundation
import Postgres
import TestSupport
import Testing

/// What a SaaS engineer meets around a session's life: strict query parameters and the
/// filters people reach for, revoking and renewing links, opens counted only for people,
/// status true at read time, and Idempotency-Key compared as parsed JSON.
@Suite struct SessionLifecycleTests {
    func create(_ f: APIFixture, tenant: String = "cust_42", key: String? = nil) throws -> (id: String, token: String) {
        let created = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, json: sessionBody(tenant: tenant))
        #expect(created.status == 201)
        let url = try #require(created.json["onboardingUrl"] as? String)
        return (created.json["sessionId"] as! String, String(url.split(separator: "/").last!))
    }

    func events(_ f: APIFixture, _ query: String) throws -> [[String: Any]] {
        let listed = try f.server.send("GET", "/api/v1/events?limit=100&" + query, key: f.account.apiKey)
        #expect(listed.status == 200, "\(listed.text)")
        return listed.json["data"] as? [[String: Any]] ?? []
    }

    func status(_ f: APIFixture, _ id: String) throws -> String? {
        try f.server.send("GET", "/api/v1/onboarding/sessions/\(id)", key: f.account.apiKey).json["status"] as? String
    }

    @Test func unknownQueryParametersAreRefusedAndTheNewFiltersFilter() throws {
        let f = try APIFixture()
        defer { f.close() }
        let typo = try f.server.send("GET", "/api/v1/connections?tenant_id=cust_42", key: f.account.apiKey)
        #expect(typo.status == 400 && typo.errorCode == "validation_failed" && typo.errorParam == "tenant_id")
        #expect(typo.text.contains("tenantId"), "the message names what the route takes")
        let a = try create(f, tenant: "cust_a")
        let b = try create(f, tenant: "cust_b")
        #expect(try f.server.send("GET", "/api/v1/onboarding/sessions/\(a.id)?expand=all", key: f.account.apiKey).errorParam == "expand")
        #expect(try f.server.send("GET", "/api/v1/events?delivery_status=failed", key: f.account.apiKey).errorParam == "delivery_status")
        // A parameter given twice is refused by name: only one value would count.
        let twice = try f.server.send("GET", "/api/v1/events?type=onboarding.started&tenantId=cust_a&type=onboarding.completed", key: f.account.apiKey)
        #expect(twice.status == 400 && twice.errorCode == "validation_failed" && twice.errorParam == "type", "\(twice.text)")
        #expect(try f.server.send("GET", "/api/v1/events?limit=5&limit=100", key: f.account.apiKey).errorParam == "limit")

        for token in [a.token, b.token] { #expect(try f.server.send("POST", "/onboard/\(token)/open").status == 204) }
        let forA = try events(f, "tenantId=cust_a")
        #expect(forA.count == 1 && (forA.first?["data"] as? [String: Any])?["tenantId"] as? String == "cust_a")
        let all = try events(f, "")
        #expect(all.count == 2)
        let status = try #require(all.first?["deliveryStatus"] as? String)
        #expect(try events(f, "deliveryStatus=\(status)").count == 2)
        #expect(try events(f, "deliveryStatus=\(status == "failed" ? "delivered" : "failed")").isEmpty)
        #expect(try f.server.send("GET", "/api/v1/events?deliveryStatus=lost", key: f.account.apiKey).errorParam == "deliveryStatus")

        let future = try f.server.send("GET", "/api/v1/onboarding/sessions?since=2999-01-01T00:00:00Z", key: f.account.apiKey)
        #expect((future.json["data"] as? [Any])?.count == 0)
        let past = try f.server.send("GET", "/api/v1/onboarding/sessions?since=2000-01-01T00:00:00Z", key: f.account.apiKey)
        #expect((past.json["data"] as? [Any])?.count == 2)
        #expect(try f.server.send("GET", "/api/v1/onboarding/sessions?since=yesterday", key: f.account.apiKey).errorParam == "since")
    }

    @Test func anOpenCountsOnlyWhenThePageScriptReportsIt() throws {
        let f = try APIFixture()
        defer { f.close() }
        let s = try create(f)
        // A link preview or mail scanner: a plain GET changes nothing.
        let preview = try f.server.send("GET", "/onboard/\(s.token)")
        #expect(preview.status == 200 && preview.text.contains("/open"))
        #expect(try status(f, s.id) == "created")
        #expect(try events(f, "type=onboarding.started").isEmpty)
        #expect(try f.server.send("POST", "/onboard/\(s.token)/open").status == 204)
        #expect(try f.server.send("POST", "/onboard/\(s.token)/open", json: "{}").status == 204)
        #expect(try status(f, s.id) == "opened")
        #expect(try events(f, "type=onboarding.started").count == 1, "only the first report counts")
        #expect(try f.server.send("POST", "/onboard/\(s.token)/open", json: #"{"x":1}"#).errorParam == "x")
        #expect(try f.server.send("POST", "/onboard/nonsense/open").status == 404)
    }

    @Test func aLinkCanBeRenewedAndASessionCancelledForGood() throws {
        let f = try APIFixture()
        defer { f.close() }
        let s = try create(f)
        let base = "/api/v1/onboarding/sessions/\(s.id)"
        let renewed = try f.server.send("POST", base + "/link", key: f.account.apiKey)
        #expect(renewed.status == 201 && renewed.json["sessionId"] as? String == s.id)
        let fresh = String(try #require(renewed.json["onboardingUrl"] as? String).split(separator: "/").last!)
        #expect(fresh != s.token)
        let old = try f.server.send("GET", "/onboard/\(s.token)")
        #expect(old.status == 410 && old.text.contains("replaced"))
        // A page still open on the old link is told the same by each of its actions.
        for action in ["status", "open", "cancel"] {
            let answer = try f.server.send(action == "status" ? "GET" : "POST", "/onboard/\(s.token)/\(action)")
            #expect(answer.status == 410 && answer.errorCode == "session_expired" && answer.text.contains("replaced"), "\(action)")
        }
        #expect(try f.server.send("POST", "/onboard/never-issued/open").status == 404)
        #expect(try f.server.send("GET", "/onboard/\(fresh)").status == 200)

        let cancelled = try f.server.send("POST", base + "/cancel", key: f.account.apiKey)
        #expect(cancelled.status == 200 && cancelled.json["status"] as? String == "cancelled")
        #expect(try f.server.send("GET", "/onboard/\(fresh)").status == 410, "the link stops working")
        #expect(try f.server.send("POST", "/onboard/\(fresh)/open").status == 409)
        let again = try f.server.send("POST", base + "/link", key: f.account.apiKey)
        #expect(again.status == 409 && again.errorCode == "session_used")
        #expect(try f.server.send("POST", base + "/cancel", key: f.account.apiKey).status == 200, "cancelling twice answers the same")
        let failed = try events(f, "type=onboarding.failed")
        #expect(failed.count == 1)
        #expect((failed.first?["data"] as? [String: Any])?["reason"] as? String == "cancelled")
        #expect((failed.first?["data"] as? [String: Any])?["cancelledBy"] as? String == "api")
        #expect(try f.server.send("POST", "/api/v1/onboarding/sessions/ses_nope/cancel", key: f.account.apiKey).status == 404)
        let other = try f.anotherAccount()
        #expect(try f.server.send("POST", base + "/link", key: other.apiKey).status == 404)

        // The person cancelling in Meta's window is a choice they can take back while the link lives.
        let t = try create(f, tenant: "cust_43")
        #expect(try f.server.send("POST", "/onboard/\(t.token)/cancel", json: #"{"currentStep":"PHONE_NUMBER_SETUP"}"#).status == 200)
        #expect(try f.server.send("POST", "/onboard/\(t.token)/cancel", json: #"{"currentStep":"PHONE_NUMBER_SETUP"}"#).status == 200)
        #expect(try events(f, "type=onboarding.failed").count == 2, "one for the API's cancel, one for the person's (a second click says nothing new)")
        #expect(try status(f, t.id) == "cancelled")
        #expect(try f.server.send("GET", "/onboard/\(t.token)").status == 200)
        #expect(try f.server.send("POST", "/onboard/\(t.token)/open").status == 204)
        #expect(try status(f, t.id) == "opened")
    }

    @Test func statusIsTrueAtReadTimeAndSQLMadeIdsLookLikeTheOthers() throws {
        let f = try APIFixture()
        defer { f.close() }
        let s = try create(f)
        let live = try create(f, tenant: "cust_43")
        // The link's hour has passed; the expiry sweep has not run.
        try f.db.with { try $0.sql("UPDATE onboarding_sessions SET expires_at = now() - interval '1 second' WHERE id = \(s.id)") }
        let read = try f.server.send("GET", "/api/v1/onboarding/sessions/\(s.id)", key: f.account.apiKey)
        #expect(read.json["status"] as? String == "expired" && read.json["failureReason"] as? String == "expired")
        let expired = try f.server.send("GET", "/api/v1/onboarding/sessions?status=expired", key: f.account.apiKey)
        #expect((expired.json["data"] as? [[String: Any]])?.map { $0["sessionId"] as? String } == [s.id])
        let created = try f.server.send("GET", "/api/v1/onboarding/sessions?status=created", key: f.account.apiKey)
        #expect((created.json["data"] as? [[String: Any]])?.map { $0["sessionId"] as? String } == [live.id])
        let renew = try f.server.send("POST", "/api/v1/onboarding/sessions/\(s.id)/link", key: f.account.apiKey)
        #expect(renew.status == 410 && renew.errorCode == "session_expired")

        let made = try f.db.with { try $0.sql("SELECT dualhook_id('evt') FROM generate_series(1, 50)").rows.map { try $0.decode(String.self, at: 0) } }
        #expect(try f.server.send("POST", "/onboard/\(live.token)/open").status == 204)
        let swiftMade = try #require(try f.server.send("GET", "/api/v1/events", key: f.account.apiKey).json["data"] as? [[String: Any]])
        #expect(!swiftMade.isEmpty, "an event made in Swift to compare with")
        let shape = /^evt_[0-9A-Za-z]{24}$/
        #expect(made.allSatisfy { $0.wholeMatch(of: shape) != nil } && Set(made).count == 50)
        #expect(swiftMade.allSatisfy { ($0["id"] as? String)?.wholeMatch(of: shape) != nil })
    }

    @Test func idempotencyComparesParsedJSON() throws {
        let f = try APIFixture()
        defer { f.close() }
        let compact = sessionBody(tenant: "cust_idem")
        let object = try JSONSerialization.jsonObject(with: Data(compact.utf8)) as! [String: Any]
        let spaced = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self)
        #expect(spaced != compact)
        let headers = ["Idempotency-Key": "k-\(UUID().uuidString)"]
        let first = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, headers: headers, json: compact)
        let retry = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, headers: headers, json: spaced)
        #expect(first.status == 201 && retry.status == 201)
        #expect(retry.header("Idempotent-Replayed") == "true" && retry.body == first.body)
        var changed = object
        changed["tenantName"] = "Another clinic"
        let other = String(decoding: try JSONSerialization.data(withJSONObject: changed), as: UTF8.self)
        let refused = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, headers: headers, json: other)
        #expect(refused.status == 422 && refused.errorCode == "idempotency_key_reused")
        // Numbers too long for a double stay themselves: these two differ in the last digit.
        let bigKey = ["Idempotency-Key": "k-\(UUID().uuidString)"]
        func big(_ n: String) -> String { sessionBody(tenant: "cust_big").replacingOccurrences(of: #""plan":"pro""#, with: #""orderId":\#(n)"#) }
        #expect(try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, headers: bigKey, json: big("12345678901234567891")).status == 201)
        #expect(try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, headers: bigKey, json: big("12345678901234567892")).status == 422)
    }

    /// A reply stored before requests were compared in `CanonicalJSON` form (its hash over
    /// Foundation's sorted-keys serialisation) is still replayed for a retry written another way.
    @Test func aReplyStoredInTheEarlierFormIsStillReplayed() throws {
        let f = try APIFixture()
        defer { f.close() }
        // Keys whose orders differ: Foundation sorts "a" before "B", bytes put "B" first.
        let body = sessionBody(["metadata": ["a": "1", "B": "2"]], tenant: "cust_earlier")
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as! [String: Any]
        let earlierForm = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]),
                                 as: UTF8.self)
        #expect(earlierForm.contains(#"{"a":"1","B":"2"}"#), "the two forms differ, so only the earlier one can match")
        let key = "k-earlier-\(UUID().uuidString)"
        let stored = #"{"sessionId":"ses_earlier","status":"created"}"#
        let sealed = try TestEnvironment.vault.seal(stored, associatedData: "idempotency:\(f.account.accountId):\(key)")
        try f.db.with { c throws in
            try c.sql("""
                INSERT INTO idempotency_keys (account_id, key, request_hash, state, response_status, response_body)
                VALUES (\(f.account.accountId), \(key), sha256(convert_to(\("POST /api/v1/onboarding/sessions\n" + earlierForm), 'UTF8')), 'done', 201, convert_to(\(sealed), 'UTF8'))
                """)
        }
        let pretty = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted]), as: UTF8.self)
        let retry = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, headers: ["Idempotency-Key": key], json: pretty)
        #expect(retry.status == 201 && retry.header("Idempotent-Replayed") == "true" && retry.text == stored)
        let other = sessionBody(["metadata": ["a": "1", "B": "3"]], tenant: "cust_earlier")
        let refused = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, headers: ["Idempotency-Key": key], json: other)
        #expect(refused.status == 422 && refused.errorCode == "idempotency_key_reused")
    }

    @Test func bodiesThatAreNotObjectsSayWhatTheyAre() throws {
        let f = try APIFixture()
        defer { f.close() }
        func message(_ body: String) throws -> String {
            let answer = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, json: body)
            #expect(answer.status == 400 && answer.errorCode == "invalid_json")
            return ((answer.json["error"] as? [String: Any])?["message"] as? String) ?? ""
        }
        #expect(try message("null").contains("null"))
        #expect(try message("[]").contains("an array"))
        #expect(try message("{").contains("not valid JSON"))
        let deep = #"{"metadata":"# + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}"
        #expect(try message(deep).contains("deeper than 511 levels"))
    }
}
