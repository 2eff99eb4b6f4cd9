import Foundation
import Postgres
import TestSupport
import Testing
@testable import Dualhook

/// `Idempotency.reserve`, as `claim` runs it for every POST but session creation: each key
/// found free, in use, stored or expired.
@Suite struct IdempotencyReserveTests {
    @Test func eachKeyIsFoundAsItsLockAndItsStoredAnswerSay() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        try db.with { c throws in
            try c.execute("INSERT INTO accounts (id, name, display_name) VALUES ('acc_ir', 'IR', 'IR')")
            try c.execute("""
                INSERT INTO idempotency_keys (account_id, key, request_hash, state, response_status, response_body, created_at)
                VALUES ('acc_ir', 'stored', '\\x01', 'done', 201, 'kept', now()),
                       ('acc_ir', 'old', '\\x02', 'done', 201, 'gone', now() - interval '2 hours'),
                       ('acc_ir', 'held', '\\x03', 'done', 201, 'hidden', now())
                """)
            let holder = try db.connect()
            defer { holder.close() }
            try holder.execute("BEGIN")
            try holder.sql("SELECT pg_advisory_xact_lock(hashtextextended('idempotency:acc_ir:held', 0))")
            let found = try c.transaction { tx in
                try Idempotency.reserve([("acc_ir", "new"), ("acc_ir", "stored"), ("acc_ir", "old"), ("acc_ir", "held")], on: tx)
            }
            try holder.execute("ROLLBACK")
            let described = found.map { reservation -> String in
                switch reservation {
                case .free: "free"
                case .inUse: "in use"
                case .expired: "expired"
                case .stored(let stored): "stored \(String(decoding: stored.sealedBody, as: UTF8.self)) \(stored.status)"
                }
            }
            #expect(described == ["free", "stored kept 201", "expired", "in use"])
        }
    }
}
