import Foundation
import Postgres
import TestSupport
import Testing

/// Group commit: callers on many threads, their writes in shared transactions.
@Suite struct CommitBatcherTests {
    @Test func callersShareTransactionsEachGetsItsOwnAnswersAndABadCallerFailsAlone() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        try db.with { connection throws in try connection.execute("CREATE TABLE t (id int PRIMARY KEY, tx xid8 NOT NULL)") }
        let pool = ConnectionPool(url: db.url, maxConnections: 4)
        defer { pool.shutdown() }
        // Each item is a row id; the answer is the id doubled, read back from what was written.
        let batcher = CommitBatcher<Int, Int>(maxItems: 50) { items, connection in
            // Each batch takes a moment, so callers arriving meanwhile queue up for the next.
            try connection.execute("SELECT pg_sleep(0.01)")
            let written = try connection.sql("INSERT INTO t SELECT id, pg_current_xact_id() FROM unnest(\(items)::int[]) AS id RETURNING id * 2")
            let doubled = Set(try written.rows.map { try $0.decode(Int.self, at: 0) })
            return items.map { doubled.contains($0 * 2) ? $0 * 2 : -1 }
        }
        let callers = 64
        let answers = LockedList<(caller: Int, result: Result<[Int], any Error>)>()
        // A thread per caller (concurrentPerform would run only as many as there are cores).
        let done = DispatchGroup()
        for caller in 0..<callers {
            done.enter()
            Thread.detachNewThread {
                // Three rows per caller; caller 7 also sends row 0 twice, which the primary key refuses.
                let items = caller == 7 ? [0, 0] : [caller * 10 + 1, caller * 10 + 2, caller * 10 + 3]
                answers.append((caller, Result { try batcher.submit(items) { body in try pool.withConnection(body) } }))
                done.leave()
            }
        }
        done.wait()
        #expect(answers.count == callers)
        for (caller, result) in answers.all {
            switch result {
            case .success(let doubled):
                #expect(caller != 7)
                #expect(doubled == [caller * 20 + 2, caller * 20 + 4, caller * 20 + 6])
            case .failure(let error):
                #expect(caller == 7, "caller \(caller) failed: \(error)")
                #expect((error as? PostgresError)?.sqlState == "23505")
            }
        }
        try db.with { connection throws in
            #expect(try connection.sql("SELECT count(*) FROM t").scalar(Int.self) == (callers - 1) * 3)
            #expect(try connection.sql("SELECT count(*) FROM t WHERE id = 0").scalar(Int.self) == 0)
            // Fewer transactions than callers: some committed several callers' rows together.
            let transactions = try connection.sql("SELECT count(DISTINCT tx) FROM t").scalar(Int.self) ?? 0
            #expect(transactions < callers - 1)
            // No transaction took more than the batch's 50 items.
            #expect(try connection.sql("SELECT max(n) FROM (SELECT count(*) AS n FROM t GROUP BY tx) AS s").scalar(Int.self) ?? 0 <= 50)
        }
    }
}

/// A batcher told not to retry alone: a failed batch fails each of its callers, and nothing of
/// it is kept.
@Suite struct CommitBatcherNoRetryTests {
    @Test func aFailedBatchFailsEveryCallerInIt() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        try db.with { connection throws in try connection.execute("CREATE TABLE t (id int PRIMARY KEY)") }
        let pool = ConnectionPool(url: db.url, maxConnections: 4)
        defer { pool.shutdown() }
        // The first batch (row 1000 alone) waits until every other caller has queued, so they
        // all share the second batch, caller 7's bad items among them.
        let release = DispatchSemaphore(value: 0)
        let batcher = CommitBatcher<Int, Void>(concurrency: 1, retryAlone: { _ in false }) { (items: [Int], connection: Connection) throws -> Void in
            if items == [1000] { release.wait() }
            try connection.sql("INSERT INTO t SELECT unnest(\(items)::int[])")
        }
        let answers = LockedList<(caller: Int, error: (any Error)?)>()
        let done = DispatchGroup()
        func submit(_ caller: Int, _ items: [Int]) {
            done.enter()
            Thread.detachNewThread {
                do {
                    try batcher.submit(items) { body in try pool.withConnection(body) }
                    answers.append((caller, nil))
                } catch {
                    answers.append((caller, error))
                }
                done.leave()
            }
        }
        submit(1000, [1000])
        Thread.sleep(forTimeInterval: 0.2)
        // Caller 7 sends its row twice, which the primary key refuses.
        for caller in 0..<31 { submit(caller, caller == 7 ? [7, 7] : [caller]) }
        Thread.sleep(forTimeInterval: 0.5)
        release.signal()
        done.wait()
        let failures = answers.all.filter { $0.error != nil }
        #expect(Set(failures.map(\.caller)) == Set(0..<31), "every caller of the failed batch fails, none is retried alone")
        #expect(failures.allSatisfy { ($0.error as? PostgresError)?.sqlState == SQLState.uniqueViolation })
        try db.with { connection throws in
            #expect(try connection.sql("SELECT array_agg(id)::text FROM t").scalar(String.self) == "{1000}")
        }
    }
}
