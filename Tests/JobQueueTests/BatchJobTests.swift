import Foundation
@testable import JobQueue
import Postgres
import TestSupport
import Testing

/// Records the size of each batch a `BatchJobKind` ran, from any thread.
final class BatchLog: @unchecked Sendable {
    // `@unchecked Sendable`: guarded by `lock`.
    private let lock = NSLock()
    private var runs: [[Int64]] = []
    func record(_ jobs: [Int64]) { lock.withLock { runs.append(jobs) } }
    var batches: [Int] { lock.withLock { runs.map(\.count) } }
    var batchesRun: [[Int64]] { lock.withLock { runs } }
    var ran: [Int64] { lock.withLock { runs.flatMap { $0 } } }
}

/// Runs its jobs in batches of up to three; each job's own `outcome` decides its result, and
/// `stuck` jobs wait for `gate` past the kind's one-second timeout.
struct TrioJob: BatchJobKind {
    struct Args: Codable, Sendable {
        var outcome = "ok"
        var stuck = false
    }
    static let kind = "test.trio"
    static let batchSize = 3
    static let timeout: TimeInterval = 1
    static let retryPolicy = RetryPolicy.fixed([600])
    struct Refused: Error {}
    let log: BatchLog
    let gate: DispatchSemaphore

    /// Finishes the jobs that are not stuck first, then waits for the gate with the stuck ones.
    func performBatch(_ jobs: [BatchJob<Args>], finish: BatchFinish) {
        log.record(jobs.map(\.context.jobID))
        func outcome(_ args: Args) -> (any Error)? {
            switch args.outcome {
            case "retry": JobError.retry(after: 600, "asked to retry")
            case "discard": JobError.discard("asked to discard")
            case "throw": Refused()
            case "snooze": JobError.snooze(after: 600, "asked to step aside")
            case "snoozeLonger": JobError.snooze(after: 900, "asked to step aside for longer")
            default: nil
            }
        }
        finish(jobs.indices.filter { !jobs[$0].args.stuck }.map { ($0, outcome(jobs[$0].args)) })
        guard jobs.contains(where: \.args.stuck) else { return }
        gate.wait()
        gate.signal()
        for (i, job) in jobs.enumerated() where job.args.stuck { finish(i, outcome(job.args)) }
    }
}

@Suite struct BatchJobTests {
    /// Jobs of a batch kind claimed together run together, up to the batch size, and each ends
    /// as its own result says: completed, retried, discarded; one whose arguments do not decode
    /// is discarded alone.
    @Test func jobsClaimedTogetherRunAsBatchesEachWithItsOwnOutcome() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        let log = BatchLog()
        var registry = JobRegistry()
        registry.register(TrioJob(log: log, gate: DispatchSemaphore(value: 1)))
        // The two snoozes are claimed next to each other, so they can end in one batch's group
        // and be set aside by one statement, each for its own delay.
        let outcomes = ["ok", "snooze", "snoozeLonger", "retry", "discard", "ok", "ok", "throw", "ok"]
        let (ids, undecodable) = try db.with { connection throws in
            (try outcomes.map { try JobQueue.enqueue(TrioJob.self, .init(outcome: $0), on: connection)! },
             try JobQueue.enqueueRaw(kind: "test.trio", queue: "default", argsJSON: #"{"outcome":7}"#, on: connection)!)
        }
        let harness = WorkerHarness(db, registry: registry, concurrency: 10)
        defer { harness.stop() }
        #expect(eventually(timeout: 10) {
            log.ran.count == outcomes.count
                && (try? db.with { try $0.sql("SELECT count(*) FROM jobs WHERE state = 'running'").scalar(Int.self) }) == 0
                && (try? jobState(db, undecodable)) == "discarded"
        })
        let states = try db.with { connection throws in
            try connection.sql("SELECT id, state, attempt, COALESCE(last_error, '') FROM jobs ORDER BY id").rows.map {
                (id: try $0.decode(Int64.self, at: 0), state: try $0.decode(String.self, at: 1), attempt: try $0.decode(Int.self, at: 2),
                 error: try $0.decode(String.self, at: 3))
            }
        }
        let byID = Dictionary(uniqueKeysWithValues: states.map { ($0.id, $0) })
        for (id, outcome) in zip(ids, outcomes) {
            let row = try #require(byID[id])
            switch outcome {
            case "ok": #expect(row.state == "completed", "job \(id)")
            case "discard": #expect(row.state == "discarded" && row.error.contains("asked to discard"))
            case "snooze", "snoozeLonger":
                // Set aside without using an attempt, for its own delay.
                let delay = try db.with { try $0.sql("SELECT extract(epoch FROM run_at - now())::float8 FROM jobs WHERE id = \(id)").scalar(Double.self) } ?? -1
                let expected: ClosedRange<Double> = outcome == "snooze" ? 500...600 : 800...900
                #expect(row.state == "available" && row.attempt == 0 && expected.contains(delay), "job \(id): \(row), \(delay) s")
            default: #expect(row.state == "available" && row.attempt == 1 && !row.error.isEmpty, "job \(id): \(row)")
            }
        }
        #expect(byID[undecodable]?.state == "discarded")
        #expect(byID[undecodable]?.error.contains("arguments do not decode as test.trio") == true)
        // The jobs with good arguments ran once each, never more than three together, and not
        // one by one: the ten claimed at once made batches.
        #expect(log.ran.sorted() == ids.sorted())
        #expect(log.batches.allSatisfy { $0 <= 3 })
        #expect(log.batches.contains { $0 > 1 }, "batches: \(log.batches)")
    }

    /// A batch that overruns its deadline has each of its jobs failed as timed out; it counts
    /// as one stuck thread (one replacement, not one per job), its slots serve other jobs at
    /// once, and its late results are not recorded.
    @Test func aBatchPastItsDeadlineFailsItsJobsAndItsSlotsServeOthers() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        let log = BatchLog()
        let gate = DispatchSemaphore(value: 0)
        var registry = JobRegistry()
        registry.register(TrioJob(log: log, gate: gate))
        let stuck = try db.with { connection throws in
            try (0..<3).map { _ in try JobQueue.enqueue(TrioJob.self, .init(stuck: true), on: connection)! }
        }
        let harness = WorkerHarness(db, registry: registry, concurrency: 3)
        defer {
            gate.signal()
            harness.stop()
        }
        #expect(eventually(timeout: 10) { log.ran.count == 3 })
        #expect(log.batches == [3])
        #expect(eventually(timeout: 10) {
            (try? db.with { try $0.sql("SELECT count(*) FROM jobs WHERE last_error LIKE 'timed out after 1 s%' AND state = 'available'").scalar(Int.self) }) == 3
        })
        #expect(harness.worker.runners[0].stuck == (threads: 1, emptySlots: 0))
        let later = try db.with { connection throws in
            try (0..<3).map { _ in try JobQueue.enqueue(TrioJob.self, .init(), on: connection)! }
        }
        #expect(eventually(timeout: 10) { later.allSatisfy { (try? jobState(db, $0)) == "completed" } })
        gate.signal()
        #expect(eventually(timeout: 10) { harness.worker.runners[0].stuck.threads == 0 })
        // The stuck batch came back with successes; its jobs stay as the watchdog left them.
        for id in stuck { #expect(try jobState(db, id) == "available") }
    }

    /// A job of a batch that ends first is recorded at once and its slot takes the next job,
    /// while a job of the same batch still waits.
    @Test func aJobThatEndsFirstIsRecordedAndItsSlotServesOthersWhileItsBatchWaits() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        let log = BatchLog()
        let gate = DispatchSemaphore(value: 0)
        var registry = JobRegistry()
        registry.register(TrioJob(log: log, gate: gate))
        let long = JobOptions(timeout: 60)
        let (slow, quick) = try db.with { connection throws in
            (try JobQueue.enqueue(TrioJob.self, .init(stuck: true), options: long, on: connection)!,
             try (0..<2).map { _ in try JobQueue.enqueue(TrioJob.self, .init(), options: long, on: connection)! })
        }
        let harness = WorkerHarness(db, registry: registry, concurrency: 3)
        defer {
            gate.signal()
            harness.stop()
        }
        #expect(eventually(timeout: 10) { quick.allSatisfy { (try? jobState(db, $0)) == "completed" } })
        #expect(log.batches == [3])
        // Two slots are free again although their batch has not returned: two more jobs run.
        let next = try db.with { connection throws in
            try (0..<2).map { _ in try JobQueue.enqueue(TrioJob.self, .init(), options: long, on: connection)! }
        }
        #expect(eventually(timeout: 10) { next.allSatisfy { (try? jobState(db, $0)) == "completed" } })
        #expect(try jobState(db, slow) == "running")
        gate.signal()
        #expect(eventually(timeout: 10) { (try? jobState(db, slow)) == "completed" })
    }
}
