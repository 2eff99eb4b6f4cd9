import Foundation
import Postgres
import TestSupport
import Testing

@Suite(.serialized) struct IdempotencyAndRateLimitTests {
    @Test func replaysByteForByteAndRefusesAnotherBody() throws {
        let f = try APIFixture()
        defer { f.close() }
        let headers = ["Idempotency-Key": "order-1"]
        let first = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, headers: headers, json: sessionBody())
        let second = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, headers: headers, json: sessionBody())
        #expect(first.status == 201 && second.status == 201)
        #expect(first.body == second.body)
        #expect(second.header("Idempotent-Replayed") == "true")
        #expect(first.header("Idempotent-Replayed") == nil)
        #expect(try f.count("onboarding_sessions") == 1)
        // The stored reply holds the onboarding URL, so it is sealed: the token is not in the row.
        let token = String((first.json["onboardingUrl"] as! String).split(separator: "/").last!)
        let leaked = try f.db.with { try $0.sql("SELECT count(*) FROM idempotency_keys WHERE position(\(Data(token.utf8))::bytea in response_body) > 0").scalar(Int.self) }
        #expect(leaked == 0)

        let other = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, headers: headers,
                                      json: sessionBody(tenant: "someone-else"))
        #expect(other.status == 422 && other.errorCode == "idempotency_key_reused")
        // A failed request does not use its key up.
        let invalid = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                        headers: ["Idempotency-Key": "order-2"], json: sessionBody(["tenantId": nil]))
        #expect(invalid.status == 400)
        let retried = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                        headers: ["Idempotency-Key": "order-2"], json: sessionBody(tenant: "fixed"))
        #expect(retried.status == 201)
        #expect(try f.count("onboarding_sessions") == 2)
    }

    /// A session request is checked before it joins a shared commit; a refused one with a key
    /// still answers as the key says first: a retry after the account changed gets its stored
    /// 201, a key whose request runs gets 409, and another body with a used key 422.
    @Test func aRefusedRetryAnswersAsItsKeySaysFirst() throws {
        let f = try APIFixture()
        defer { f.close() }
        let first = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                      headers: ["Idempotency-Key": "before-change"], json: sessionBody())
        #expect(first.status == 201)
        try f.db.with { try $0.sql("UPDATE accounts SET redirect_origins = '{https://elsewhere.example}' WHERE id = \(f.account.accountId)") }
        let retry = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                      headers: ["Idempotency-Key": "before-change"], json: sessionBody())
        #expect(retry.status == 201 && retry.body == first.body && retry.header("Idempotent-Replayed") == "true")
        let fresh = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                      headers: ["Idempotency-Key": "after-change"], json: sessionBody())
        #expect(fresh.status == 400 && fresh.errorParam == "successRedirectUrl")
        let other = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                      headers: ["Idempotency-Key": "before-change"], json: sessionBody(["tenantId": nil]))
        #expect(other.status == 422 && other.errorCode == "idempotency_key_reused")
        // A key held by a running request: 409 before the body's own problem.
        let holder = try f.db.connect()
        defer { holder.close() }
        try holder.execute("BEGIN")
        try holder.sql("SELECT pg_advisory_xact_lock(hashtextextended('idempotency:' || \(f.account.accountId) || ':held', 0))")
        let held = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                     headers: ["Idempotency-Key": "held"], json: sessionBody(["tenantId": nil]))
        #expect(held.status == 409 && held.errorCode == "idempotency_key_in_use")
        try holder.execute("ROLLBACK")
        #expect(try f.count("onboarding_sessions") == 1)
    }

    @Test func concurrentRequestsWithOneKeyMakeOneSession() throws {
        let f = try APIFixture()
        defer { f.close() }
        // The tenant exists; a transaction holding its row makes the first request wait inside
        // its own transaction, after it reserved the key.
        #expect(try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, json: sessionBody()).status == 201)
        let blocker = try f.db.connect()
        defer { blocker.close() }
        try blocker.execute("BEGIN")
        try blocker.sql("SELECT 1 FROM tenants WHERE tenant_id = 'cust_42' FOR UPDATE")

        let results = LockedList<HTTPResult?>()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            results.append(try? f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                           headers: ["Idempotency-Key": "race"], json: sessionBody()))
        }
        // The first request holds the key's reservation (a transaction-scoped advisory lock) and
        // waits on the tenant's row.
        #expect(eventually(timeout: 10) {
            (try? f.db.with { try $0.sql("""
                SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()
                """).scalar(Int.self) }) == 1
        })
        let second = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                       headers: ["Idempotency-Key": "race"], json: sessionBody())
        #expect(second.status == 409 && second.errorCode == "idempotency_key_in_use")
        try blocker.execute("COMMIT")
        group.wait()
        #expect(results.all.map { $0?.status ?? -1 } == [201])
        #expect(try f.count("onboarding_sessions") == 2)
    }

    @Test func theBudgetCountsDownAndHoldsAcrossFrontProcesses() throws {
        let f = try APIFixture()
        defer { f.close() }
        let second = try APIServer(databaseURL: f.db.url)
        defer { second.stop() }
        try f.db.with { try $0.sql("UPDATE accounts SET rate_limit_per_minute = 6 WHERE id = \(f.account.accountId)") }
        // Stay clear of a minute boundary, where the window starts afresh.
        while Int(Date().timeIntervalSince1970) % 60 > 50 { Thread.sleep(forTimeInterval: 0.5) }

        var remaining: [Int] = []
        for i in 0..<6 {
            let server = i % 2 == 0 ? f.server : second
            let result = try server.send("GET", "/api/v1/account", key: f.account.apiKey)
            #expect(result.status == 200)
            #expect(result.header("X-RateLimit-Limit") == "6")
            remaining.append(Int(result.header("X-RateLimit-Remaining") ?? "") ?? -1)
        }
        #expect(remaining == [5, 4, 3, 2, 1, 0], "both fronts draw on one budget")
        let limited = try second.send("GET", "/api/v1/account", key: f.account.apiKey)
        #expect(limited.status == 429 && limited.errorCode == "rate_limited")
        let retryAfter = Int(limited.header("Retry-After") ?? "") ?? -1
        #expect(retryAfter >= 1 && retryAfter <= 60)
        let reset = Int(limited.header("X-RateLimit-Reset") ?? "") ?? 0
        #expect(reset % 60 == 0 && reset > Int(Date().timeIntervalSince1970))
        // Another account's budget is its own.
        let other = try f.anotherAccount()
        #expect(try f.server.send("GET", "/api/v1/account", key: other.apiKey).status == 200)
    }
}
