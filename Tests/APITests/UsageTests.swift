@testable import Dualhook
import Foundation
import JobQueue
import Postgres
import TestSupport
import Testing

/// Plans, trials and usage metered per connection-day, from the status history a trigger keeps.
@Suite(.serialized) struct UsageTests {
    /// A connection of the account with the status history `changes` (ISO times in 2026-11).
    func connection(_ f: APIFixture, _ id: String, tenant: String, phone: String? = nil, status: String = "active",
                    _ changes: [(String, String)]) throws {
        try f.db.with { db in
            try db.sql("""
                INSERT INTO tenants (account_id, tenant_id) VALUES (\(f.account.accountId), \(tenant)) ON CONFLICT DO NOTHING
                """)
            try db.sql("""
                INSERT INTO connections (id, account_id, tenant_id, waba_id, phone_number_id, status, connection_mode, webhook_override_url,
                                         webhook_verify_token, access_token)
                VALUES (\(id), \(f.account.accountId), \(tenant), \("9" + id.suffix(5)), \(phone ?? "8" + id.suffix(5)), \(status), 'cloud_api',
                        'https://api.example.com/w', 'v1:x:sealed', 'v1:x:sealed')
                """)
            for (status, at) in changes {
                try db.sql("""
                    INSERT INTO connection_status_changes (connection_id, account_id, tenant_id, status, at)
                    VALUES (\(id), \(f.account.accountId), \(tenant), \(status), \(at)::timestamptz)
                    """)
            }
        }
    }

    /// A number disconnected and onboarded again the same day is a new connection, but the
    /// day counts once (README: "disconnected and reconnected on one day counts that day once").
    @Test func aNumberOnboardedAgainTheSameDayCountsThatDayOnce() throws {
        let f = try APIFixture()
        defer { f.close() }
        try connection(f, "con_ddddd", tenant: "t1", phone: "15550100001", status: "disconnected",
                       [("active", "2026-11-12T08:00:00Z"), ("disconnected", "2026-11-12T10:00:00Z")])
        try connection(f, "con_eeeee", tenant: "t1", phone: "15550100001", status: "disconnected",
                       [("active", "2026-11-12T11:00:00Z"), ("disconnected", "2026-11-13T12:00:00Z")])
        // Another number the same days counts on its own.
        try connection(f, "con_fffff", tenant: "t1", [("active", "2026-11-12T09:00:00Z"), ("disconnected", "2026-11-12T09:30:00Z")])
        // (Two more for the CSV below: the 14th to the 30th.)
        try connection(f, "con_ggggg", tenant: "=HYPERLINK(\"https://evil.example\",\"x\")", [("active", "2026-11-14T09:00:00Z")])
        try connection(f, "con_hhhhh", tenant: "+15550100", [("active", "2026-11-14T09:00:00Z")])
        let usage = try f.server.send("GET", "/api/v1/usage?period=2026-11", key: f.account.apiKey)
        #expect(usage.status == 200, "\(usage.text)")
        let lines = (usage.json["connections"] as? [[String: Any]] ?? []).reduce(into: [String: Int]()) {
            $0[$1["connectionId"] as? String ?? ""] = $1["activeDays"] as? Int
        }
        #expect(lines == ["con_ddddd": 1, "con_eeeee": 1, "con_fffff": 1, "con_ggggg": 17, "con_hhhhh": 17],
                "the 12th once for the number, the 13th for the second connection")
        #expect(usage.json["connectionDays"] as? Int == 37)
        // In the CSV report, a tenant id a spreadsheet would run as a formula is quoted as text;
        // a number-like one is left as it is.
        let csv = try DualhookProcess.run(["usage", "report", "--period", "2026-11", "--csv"], databaseURL: f.db.url).output
        #expect(csv.contains(#",con_ggggg,"'=HYPERLINK(""https://evil.example"",""x"")",17"#), "\(csv)")
        #expect(csv.contains(",con_hhhhh,+15550100,17"))
    }

    @Test func connectionDaysComeFromTheStatusHistory() throws {
        let f = try APIFixture()
        defer { f.close() }
        // 3 days (the 3rd to the 5th).
        try connection(f, "con_aaaaa", tenant: "t1", [("active", "2026-11-03T10:00:00Z"), ("disconnected", "2026-11-05T12:00:00Z")])
        // Disconnected and connected again on the 10th: that day once; an end at midnight does not count the 11th.
        try connection(f, "con_bbbbb", tenant: "t2", [("active", "2026-11-10T08:00:00Z"), ("disconnected", "2026-11-10T09:00:00Z"),
                                                      ("active", "2026-11-10T15:00:00Z"), ("disconnected", "2026-11-11T00:00:00Z")])
        // Suspended days do not count: the 20th, then the 25th to the 30th.
        try connection(f, "con_ccccc", tenant: "t2", [("active", "2026-11-20T00:00:00Z"), ("suspended", "2026-11-21T00:00:00Z"),
                                                      ("active", "2026-11-25T23:59:00Z")])
        let small = try f.db.with {
            try PlanStore.set(name: "small", currency: "EUR", monthlyPrice: "10", included: 0, extraPrice: "4.50", trialDays: 0,
                              afterTrial: .continue, on: $0)
        }
        #expect(small.extraConnectionPrice == "4.50")
        #expect(try f.db.with { try PlanStore.assign(accountID: f.account.accountId, plan: "small", on: $0) })
        // The account has been there since October: November is past its trial (a month that ends within the trial is 0.00).
        try f.db.with { try $0.sql("UPDATE accounts SET created_at = '2026-10-01T00:00:00Z' WHERE id = \(f.account.accountId)") }

        let usage = try f.server.send("GET", "/api/v1/usage?period=2026-11", key: f.account.apiKey)
        #expect(usage.status == 200, "\(usage.text)")
        let lines = (usage.json["connections"] as? [[String: Any]] ?? []).reduce(into: [String: Int]()) {
            $0[$1["connectionId"] as? String ?? ""] = $1["activeDays"] as? Int
        }
        #expect(lines == ["con_aaaaa": 3, "con_bbbbb": 1, "con_ccccc": 7])
        #expect(usage.json["connectionDays"] as? Int == 11)
        // 11 ÷ 30 = 0.3666… billable, all extra; 10 + 0.3666… × 4.50 = 11.65.
        #expect(usage.json["billableConnections"] as? String == "0.37" && usage.json["extraConnections"] as? String == "0.37")
        #expect(usage.json["estimatedAmount"] as? String == "11.65")
        #expect((usage.json["plan"] as? [String: Any])?["currency"] as? String == "EUR")
        // A closed month is the same every time, even after its plan's prices change.
        #expect(try f.server.send("GET", "/api/v1/usage?period=2026-11", key: f.account.apiKey).body == usage.body)
        _ = try f.db.with {
            try PlanStore.set(name: "small", currency: "EUR", monthlyPrice: "50", included: 0, extraPrice: "9", trialDays: 0,
                              afterTrial: .continue, on: $0)
        }
        #expect(try f.server.send("GET", "/api/v1/usage?period=2026-11", key: f.account.apiKey).body == usage.body,
                "a closed month keeps its first statement")

        for bad in ["2026-13", "26-11", "2999-01", "2026-1"] {
            let refused = try f.server.send("GET", "/api/v1/usage?period=\(bad)", key: f.account.apiKey)
            #expect(refused.status == 400 && refused.errorParam == "period", "\(bad)")
        }
        #expect(try f.server.send("GET", "/api/v1/usage", key: f.account.apiKey).status == 200, "the current month by default")

        // The report for all accounts, twice: identical.
        let first = try DualhookProcess.run(["usage", "report", "--period", "2026-11", "--json"], databaseURL: f.db.url)
        let second = try DualhookProcess.run(["usage", "report", "--period", "2026-11", "--json"], databaseURL: f.db.url)
        #expect(first.status == 0 && first.output == second.output && first.output.contains("\"estimatedAmount\" : \"11.65\""), "\(first.output)")
        let csv = try DualhookProcess.run(["usage", "report", "--period", "2026-11", "--csv"], databaseURL: f.db.url)
        #expect(csv.output.contains("\(f.account.accountId),2026-11,small,EUR,11,0.37,0.37,11.65,con_aaaaa,t1,3"), "\(csv.output)")
        #expect(try DualhookProcess.run(["usage", "report", "--period", "2026-13"], databaseURL: f.db.url).status == 2)
        // Without a flag, a table for the terminal: one line per account.
        let table = try DualhookProcess.run(["usage", "report", "--period", "2026-11"], databaseURL: f.db.url)
        let line = table.output.split(separator: "\n").first { $0.contains(f.account.accountId) }.map { $0.split(separator: " ").map(String.init) }
        #expect(table.status == 0 && line == [f.account.accountId, "2026-11", "small", "11", "0.37", "0.37", "11.65", "EUR"], "\(table.output)")
        #expect(try DualhookProcess.run(["usage", "report", "--period", "2026-11", "--json", "--csv"], databaseURL: f.db.url).status == 2)
    }

    @Test func noticesGoOutOnceEachHoweverManyRunsAndATrialCanStopOnboarding() throws {
        let f = try APIFixture()
        defer { f.close() }
        try f.db.with { db in
            _ = try PlanStore.set(name: "five", currency: "EUR", monthlyPrice: "20", included: 5, extraPrice: "3", trialDays: 2,
                                  afterTrial: .continue, on: db)
            try db.sql("UPDATE accounts SET plan = 'five' WHERE id = \(f.account.accountId)")
        }
        for n in 0..<5 { try connection(f, "con_t000\(n)", tenant: "t\(n)", []) }
        // Three runs at once, as several schedulers and workers could make.
        try f.db.with { db in
            for key in ["a", "b", "c"] { try JobQueue.enqueue(UsageNotices.self, .init(), options: JobOptions(uniqueKey: "usage-test-\(key)"), on: db) }
        }
        let worker = try DualhookProcess(["work", "--queues", "maintenance:3", "--poll-interval", "0.2"], databaseURL: f.db.url, label: "usage-worker")
        defer { worker.stop() }
        func events(_ type: String) -> [[String: Any]] {
            ((try? f.server.send("GET", "/api/v1/events?type=\(type)", key: f.account.apiKey).json["data"]) as? [[String: Any]] ?? [])
                .compactMap { $0["data"] as? [String: Any] }
        }
        #expect(eventually(timeout: 20) { events("usage.threshold").count == 2 && events("account.trial_ending").count == 1 })
        #expect(eventually(timeout: 20) { (try? f.db.with { try JobAdmin.count(.init(kind: "sweep.usage", state: "completed"), on: $0) }) == 3 })
        // All three runs done: still one notice of each, never repeated.
        #expect(events("usage.threshold").compactMap { $0["percent"] as? Int }.sorted() == [80, 100])
        #expect(events("account.trial_ending").count == 1)
        #expect(events("account.trial_ending").first?["plan"] as? String == "five")

        // A plan that stops onboarding when a trial ends with no plan chosen.
        try f.db.with { db in
            _ = try PlanStore.set(name: "strict", currency: "EUR", monthlyPrice: "20", included: 5, extraPrice: "3", trialDays: 0,
                                  afterTrial: .blockOnboarding, on: db)
            try db.sql("UPDATE accounts SET plan = 'strict' WHERE id = \(f.account.accountId)")
        }
        let blocked = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, json: sessionBody())
        #expect(blocked.status == 402 && blocked.errorCode == "plan_required")
        #expect(try f.db.with { try PlanStore.assign(accountID: f.account.accountId, plan: "strict", on: $0) })
        #expect(try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, json: sessionBody()).status == 201)
    }

    /// 751 connection-days in a 30-day month on 99 + 25 included + 1.05 per extra: exactly
    /// 99.035, which rounds half-up to 99.04.
    @Test func aHalfCentRoundsUpFromTheExactAmount() {
        let plan = Plan(name: "p", currency: "EUR", monthlyPrice: "99.00", includedConnections: 25, extraConnectionPrice: "1.05",
                        trialDays: 0, afterTrial: .continue)
        let lines = [UsageLedger.Line(connectionId: "con_x", tenantId: "t", activeDays: 751)]
        let usage = UsageLedger.usage(accountID: "acc", plan: plan, trialEndsAt: .distantPast, period: BillingPeriod("2026-11")!, lines: lines)
        #expect(usage.estimatedAmount == "99.04")
        #expect(usage.billableConnections == "25.03" && usage.extraConnections == "0.03")
    }
}
