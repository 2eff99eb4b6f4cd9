import Foundation
@testable import JobQueue
import Postgres
import TestSupport
import Testing

/// The engine's SQL boundary: `job_enqueue` from SQL, and counts kept as roll-ups.
@Suite struct EngineSQLTests {
    struct TunedJob: JobKind {
        struct Args: Codable, Sendable { var n: Int }
        static let kind = "test.tuned"
        static let queue = "tuned"
        static let priority = 3
        static let timeout: TimeInterval = 42
        static let retryPolicy = RetryPolicy.fixed([1, 2])
        func perform(_ args: Args, context: JobContext) throws {}
    }

    @Test func sqlEnqueuesWithThePublishedSettingsOfItsKind() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        var registry = JobRegistry()
        registry.register(TunedJob())
        try db.with { connection throws in
            // Unknown until a worker (or this call) publishes the registry: refused, not queued.
            #expect(throws: PostgresError.self) {
                try connection.sql("SELECT job_enqueue('test.tuned', '{\"n\":1}'::jsonb)")
            }
            try registry.publish(on: connection)
            let id = try connection.sql("SELECT job_enqueue('test.tuned', '{\"n\":1}'::jsonb, 'tuned:1')").scalar(Int64.self)
            #expect(id != nil)
            // The unique key holds as it does for Swift's enqueue.
            #expect(try connection.sql("SELECT job_enqueue('test.tuned', '{\"n\":2}'::jsonb, 'tuned:1') IS NULL").scalar(Bool.self) == true)
            let row = try connection.sql("SELECT queue, priority, max_attempts, timeout_seconds, args->>'n' FROM jobs WHERE id = \(id)")[0]
            #expect(try row.decode(String.self, at: 0) == "tuned")
            #expect(try row.decode(Int.self, at: 1) == 3)
            #expect(try row.decode(Int.self, at: 2) == TunedJob.retryPolicy.maxAttempts)
            #expect(try row.decode(Int.self, at: 3) == 42)
            #expect(try row.decode(String.self, at: 4) == "1")
        }
    }

    @Test func countsAreRollUpsThatAgreeWithTheTable() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        let pool = ConnectionPool(url: db.url, maxConnections: 2, acquireTimeout: 5, applicationName: "test")
        try db.with { connection throws in
            let ids = try (0..<5).map { try JobQueue.enqueue(CountJob.self, .init(n: $0), on: connection)! }
            try JobQueue.enqueue(CountJob.self, .init(n: 9), options: JobOptions(delay: 3600), on: connection)
            _ = try JobAdmin.cancel(id: ids[0], on: connection)
            try JobCounts.fold(pool: pool)
            // After a fold, and again with deltas not folded yet.
            _ = try JobAdmin.cancel(id: ids[1], on: connection)
            try connection.sql("DELETE FROM jobs WHERE id = \(ids[2])")
            let stats = try JobAdmin.stats(on: connection)
            #expect(stats.count == 1)
            let live = try connection.sql("""
                SELECT count(*) FILTER (WHERE state = 'available' AND run_at <= now()), count(*) FILTER (WHERE run_at > now()),
                       count(*) FILTER (WHERE state = 'cancelled')
                FROM jobs
                """)[0]
            #expect(stats.first?.available == (try live.decode(Int.self, at: 0)))
            #expect(stats.first?.available == 2)
            #expect(stats.first?.scheduled == (try live.decode(Int.self, at: 1)))
            #expect(stats.first?.scheduled == 1)
            #expect(stats.first?.cancelled == (try live.decode(Int.self, at: 2)))
            #expect(stats.first?.cancelled == 2)
            try JobCounts.fold(pool: pool)
            #expect(try connection.sql("SELECT count(*) FROM job_count_deltas").scalar(Int.self) == 0)
            let folded = try JobAdmin.stats(on: connection)
            #expect(folded.first?.available == 2 && folded.first?.cancelled == 2 && folded.first?.scheduled == 1)
            // Finishing jobs fills this minute's throughput at the next fold.
            try connection.sql("UPDATE jobs SET state = 'completed', finalized_at = now() WHERE id = ANY(\([ids[3], ids[4]])::bigint[])")
            try JobCounts.fold(pool: pool)
            #expect(try JobAdmin.throughput(minutes: 60, on: connection)["default"]?.last == 2)
        }
    }
}

@Suite struct QueuePauseTests {
    @Test func aPausedQueueGivesNothingUntilResumed() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        let recorder = Recorder()
        var registry = JobRegistry()
        registry.register(CountJob(recorder: recorder))
        try db.with { try JobAdmin.pause(queue: "default", by: "test", on: $0) }
        let id = try db.with { try JobQueue.enqueue(CountJob.self, .init(n: 1), on: $0)! }
        let worker = WorkerHarness(db, registry: registry)
        defer { worker.stop() }
        Thread.sleep(forTimeInterval: 1.5)
        #expect(recorder.all.isEmpty, "nothing is claimed from a paused queue")
        #expect(try db.with { try JobAdmin.pausedQueues(on: $0) }.keys.sorted() == ["default"])
        try db.with { try JobAdmin.resume(queue: "default", on: $0) }
        #expect(eventually(timeout: 5) { recorder.all == [id] })
    }
}

@Suite struct BulkRetryTests {
    @Test func aBulkRetryNeverRedoesCompletedWorkAndKeepsUniqueKeysUnique() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        try db.with { connection throws in
            let done = try JobQueue.enqueue(CountJob.self, .init(n: 1), on: connection)!
            let failedTwice = try (0..<2).map { _ in
                try JobQueue.enqueue(CountJob.self, .init(n: 2), options: JobOptions(uniqueKey: "deliver:evt_1"), on: connection)!
                    .also { try connection.sql("UPDATE jobs SET state = 'discarded', finalized_at = now() WHERE id = \($0)") }
            }
            let held = try JobQueue.enqueue(CountJob.self, .init(n: 3), options: JobOptions(uniqueKey: "deliver:evt_2"), on: connection)!
            try connection.sql("UPDATE jobs SET state = 'discarded', finalized_at = now() WHERE id = \(held)")
            _ = try JobQueue.enqueue(CountJob.self, .init(n: 4), options: JobOptions(uniqueKey: "deliver:evt_2"), on: connection)!
            try connection.sql("UPDATE jobs SET state = 'completed', finalized_at = now() WHERE id = \(done)")
            // No state filter: everything in the queue matches, but only failed work runs again,
            // and the count an operator confirms says so.
            #expect(try JobAdmin.count(JobAdmin.Filter(queue: "default"), on: connection) == 5)
            #expect(try JobAdmin.count(JobAdmin.Filter(queue: "default"), changedBy: "retry", on: connection) == 2)
            #expect(try JobAdmin.count(JobAdmin.Filter(queue: "default"), changedBy: "cancel", on: connection) == 1, "the waiting evt_2 job")
            let retried = try JobAdmin.retryMatching(JobAdmin.Filter(queue: "default"), on: connection)
            #expect(retried == 2, "the newest evt_1 job and the waiting evt_2 one")
            #expect(try jobState(db, done) == "completed")
            #expect(try jobState(db, failedTwice[1]) == "available" && jobState(db, failedTwice[0]) == "discarded")
            #expect(try jobState(db, held) == "discarded", "its key is held by a live job")
        }
    }
}

extension Int64 {
    /// Runs `body` with the value and answers it (a test's small helper).
    func also(_ body: (Int64) throws -> Void) rethrows -> Int64 {
        try body(self)
        return self
    }
}
