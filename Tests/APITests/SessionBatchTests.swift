import Foundation
import Postgres
import TestSupport
import Testing
@testable import Dualhook

/// Session requests arriving together, written in one transaction (`SessionBatch.writeAll`, as
/// `SessionBatch.recorder` runs it): each keeps its own answer and its Idempotency-Key.
@Suite struct SessionBatchTests {
    func pending(_ n: Int, tenant: String = "cust_1", name: String? = nil, locale: String? = nil, key: String? = nil,
                 account: String = "acc_sb") throws -> SessionBatch.Pending {
        var body = ["tenantId": tenant, "successRedirectUrl": "https://app.example.com/done",
                    "failureRedirectUrl": "https://app.example.com/error", "cancelRedirectUrl": "https://app.example.com/cancel",
                    "webhookOverrideUrl": "https://api.example.com/hook", "webhookVerifyToken": "v\(n)"]
        if let name { body["tenantName"] = name }
        if let locale { body["locale"] = locale }
        let input = try SessionRequest(body: try JSONObject(body: try JSONSerialization.data(withJSONObject: body)),
                                       redirectOrigins: [], allowPrivateTargets: false)
        return SessionBatch.Pending(accountID: account, id: "ses_sb\(n)", tokenHash: Data("token\(n)".utf8),
                                    sealedVerifyToken: "sealed\(n)", expiresAt: Date(timeIntervalSince1970: 1_900_000_000 + Double(n)),
                                    input: input,
                                    answer: key.map {
                                        Idempotency.StoredAnswer(ticket: IdempotencyTicket(key: $0, accountID: account, requestHash: Data("hash-\($0)".utf8)),
                                                                 status: 201, sealedBody: Data("answer\(n)".utf8))
                                    })
    }

    func outcomes(_ found: [SessionBatch.Outcome]) -> [String] {
        found.map {
            switch $0 {
            case .created: "created"
            case .keyInUse: "in use"
            case .stored(let stored): "stored \(String(decoding: stored.sealedBody, as: UTF8.self))"
            }
        }
    }

    func strings(_ c: Connection, _ sql: PostgresQuery) throws -> [String] {
        try c.sql(sql).rows.map { try $0.decode(String.self, at: 0) }
    }

    @Test func eachRequestOfABatchKeepsItsOwnSessionAnswerAndKey() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        try db.with { c throws in
            try c.execute("INSERT INTO accounts (id, name, display_name) VALUES ('acc_sb', 'SB', 'SB')")
            let batch = [
                try pending(1, name: "First name", key: "k1"),
                try pending(2, tenant: "cust_2", locale: "pt-BR"),
                try pending(3, name: "Last name", key: "k3"),
                // The first request's key again: that request is running, so this one is refused.
                try pending(4, key: "k1"),
            ]
            let first = try c.transaction { try SessionBatch.writeAll(batch, on: $0) }
            #expect(outcomes(first) == ["created", "created", "created", "in use"])
            #expect(c.isInTransaction == false, "the batch ends its transaction")
            #expect(try strings(c, """
                SELECT id || ' ' || tenant_id || ' ' || COALESCE(locale, '-') || ' ' || webhook_verify_token || ' '
                       || encode(token_hash, 'escape') || ' ' || extract(epoch FROM expires_at)::bigint || ' ' || status
                FROM onboarding_sessions ORDER BY id
                """) == ["ses_sb1 cust_1 - sealed1 token1 1900000001 created", "ses_sb2 cust_2 pt-BR sealed2 token2 1900000002 created",
                         "ses_sb3 cust_1 - sealed3 token3 1900000003 created"])
            #expect(try strings(c, "SELECT args->>'sessionId' FROM jobs WHERE kind = 'onboarding.webhook_check' ORDER BY 1")
                    == ["ses_sb1", "ses_sb2", "ses_sb3"])
            // A tenant named twice in the batch takes the last name; one never named has none.
            #expect(try strings(c, "SELECT tenant_id || ' ' || COALESCE(name, '-') FROM tenants ORDER BY 1")
                    == ["cust_1 Last name", "cust_2 -"])
            #expect(try strings(c, """
                SELECT key || ' ' || encode(request_hash, 'escape') || ' ' || response_status || ' ' || encode(response_body, 'escape')
                FROM idempotency_keys ORDER BY key
                """) == ["k1 hash-k1 201 answer1", "k3 hash-k3 201 answer3"])

            // A later batch: a stored key answers what is stored; an expired one is written anew;
            // a key another transaction holds is in use; a rename changes the tenant.
            try c.execute("UPDATE idempotency_keys SET created_at = now() - interval '2 hours' WHERE key = 'k3'")
            let holder = try db.connect()
            defer { holder.close() }
            try holder.execute("BEGIN")
            try holder.sql("SELECT pg_advisory_xact_lock(hashtextextended('idempotency:acc_sb:held', 0))")
            let second = try c.transaction {
                try SessionBatch.writeAll([try pending(5, key: "k1"), try pending(6, name: "Renamed", key: "k3"),
                                           try pending(7, key: "held")], on: $0)
            }
            #expect(outcomes(second) == ["stored answer1", "created", "in use"])
            try holder.execute("ROLLBACK")
            #expect(try strings(c, "SELECT id FROM onboarding_sessions WHERE id IN ('ses_sb5', 'ses_sb6', 'ses_sb7')") == ["ses_sb6"])
            #expect(try strings(c, "SELECT encode(response_body, 'escape') FROM idempotency_keys WHERE key = 'k3'") == ["answer6"])
            #expect(try strings(c, "SELECT name FROM tenants WHERE tenant_id = 'cust_1'") == ["Renamed"])
            #expect(try strings(c, "SELECT key FROM idempotency_keys ORDER BY key") == ["k1", "k3"], "nothing stored for a refused key")
        }
    }

    /// Concurrent batches on two connections naming the same keys: each key makes one session.
    @Test func concurrentBatchesSharingKeysMakeOneSessionPerKey() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        try db.with { try $0.execute("INSERT INTO accounts (id, name, display_name) VALUES ('acc_sb', 'SB', 'SB')") }
        let keys = (0..<40).map { "key\($0)" }
        let results = LockedList<[String]>()
        DispatchQueue.concurrentPerform(iterations: 2) { lane in
            let ordered = lane == 0 ? keys : keys.reversed()
            for (round, chunk) in stride(from: 0, to: ordered.count, by: 8).map({ Array(ordered[$0..<min($0 + 8, ordered.count)]) }).enumerated() {
                do {
                    let batch = try chunk.enumerated().map { try pending(lane * 1000 + round * 10 + $0.offset, key: $0.element) }
                    let found = try db.with { c in try c.transaction { try SessionBatch.writeAll(batch, on: $0) } }
                    results.append(outcomes(found))
                } catch {
                    Issue.record("batch failed: \(error)")
                }
            }
        }
        let all = results.all.flatMap { $0 }
        #expect(all.count == 80)
        #expect(all.filter { $0 == "created" }.count == 40, "each key made one session, by whichever batch locked it first")
        #expect(try db.with { try $0.sql("SELECT count(*) FROM onboarding_sessions").scalar(Int.self) } == all.filter { $0 == "created" }.count)
        #expect(try db.with { try $0.sql("SELECT count(*) FROM idempotency_keys").scalar(Int.self) } == all.filter { $0 == "created" }.count,
                "one session per stored key")
    }

    /// Two connections' batches renaming the same tenants in opposite orders: the renamed rows
    /// are locked in key order, so neither waits for the other in a circle.
    @Test func batchesRenamingTheSameTenantsDoNotDeadlock() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        try db.with { try $0.execute("INSERT INTO accounts (id, name, display_name) VALUES ('acc_sb', 'SB', 'SB')") }
        let tenants = (0..<6).map { "t\($0)" }
        DispatchQueue.concurrentPerform(iterations: 2) { lane in
            for round in 0..<15 {
                do {
                    let ordered = lane == 0 ? tenants : tenants.reversed()
                    let batch = try ordered.enumerated().map {
                        try pending(lane * 10_000 + round * 100 + $0.offset, tenant: $0.element, name: "lane \(lane) round \(round)")
                    }
                    _ = try db.with { c in try c.transaction { try SessionBatch.writeAll(batch, on: $0) } }
                } catch {
                    Issue.record("batch failed: \(error)")
                }
            }
        }
        #expect(try db.with { try $0.sql("SELECT count(*) FROM onboarding_sessions").scalar(Int.self) } == 180)
        #expect(try db.with { try $0.sql("SELECT count(*) FROM tenants WHERE name LIKE 'lane % round 14'").scalar(Int.self) } == 6)
    }
}
