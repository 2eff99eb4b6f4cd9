import Foundation
@testable import JobQueue
import Logging
import Postgres
import TestSupport
import Testing

/// A queue's slots driven directly, without a database: what the runner records and claims for
/// is what these closures see.
final class SlotProbe: @unchecked Sendable {
    // `@unchecked Sendable`: guarded by `lock`; `gate` is a semaphore.
    private let lock = NSLock()
    private var startedIDs: [Int64] = []
    private var recordedIDs: [Int64] = []
    private var claimCount = 0
    /// Jobs of kind "stuck" wait for this before they end.
    let gate = DispatchSemaphore(value: 0)
    private let pool = ConnectionPool(url: "postgres://unused@127.0.0.1:1/unused")

    var started: [Int64] { lock.withLock { startedIDs } }
    var recorded: [Int64] { lock.withLock { recordedIDs } }
    var claims: Int { lock.withLock { claimCount } }

    /// A runner of `concurrency` slots running "stuck" and "quick" jobs in batches of `batchSize`.
    func runner(concurrency: Int, maxStuckThreads: Int, batchSize: Int) -> QueueRunner {
        QueueRunner(
            name: "probe", concurrency: concurrency, maxStuckThreads: maxStuckThreads, group: DispatchGroup(),
            start: { [pool] job, run in
                let now = Date()
                let context = JobContext(jobID: job.id, kind: job.kind, queue: job.queue, attempt: job.attempt, maxAttempts: job.maxAttempts,
                                         deadline: now.addingTimeInterval(TimeInterval(job.timeoutSeconds)), createdAt: job.createdAt,
                                         workerID: "probe", logger: Logger(label: "probe", minimumLevel: .error), database: pool)
                return RunningJob(job: job, context: context, startedAt: now, run: run)
            },
            batchSize: { _ in batchSize },
            perform: { [self] jobs, finished in
                lock.withLock { startedIDs += jobs.map(\.job.id) }
                finished(jobs.indices.filter { jobs[$0].job.kind == "quick" }.map { ($0, .completed) })
                let stuck = jobs.indices.filter { jobs[$0].job.kind == "stuck" }
                guard !stuck.isEmpty else { return }
                gate.wait()
                gate.signal()
                for i in stuck { finished([(i, .completed)]) }
            },
            record: { [self] outcomes in lock.withLock { recordedIDs += outcomes.map(\.0.job.id) } },
            finished: { [self] _ in lock.withLock { claimCount += 1 } })
    }

    static func job(_ id: Int64, _ kind: String, timeout: Int = 60) -> ClaimedJob {
        ClaimedJob(id: id, queue: "probe", kind: kind, args: Data("{}".utf8), attempt: 1, maxAttempts: 3, timeoutSeconds: timeout, createdAt: Date())
    }
}

@Suite struct QueueRunnerTests {
    /// Past the cap of stuck threads, a stuck batch is not replaced and leaves one slot empty,
    /// not one per job it held: the threads still running take on the queue's jobs. Its late
    /// outcomes are not recorded, and when the stuck threads come back the runner has as many
    /// threads as slots again, none leaked.
    @Test func atTheCapAStuckBatchLeavesOneSlotEmptyAndNoThreadIsLeaked() {
        let probe = SlotProbe()
        let runner = probe.runner(concurrency: 3, maxStuckThreads: 1, batchSize: 3)
        runner.startThreads()
        defer {
            probe.gate.signal()
            _ = runner.stop()
        }
        runner.push((1...3).map { SlotProbe.job($0, "stuck") })
        #expect(eventually(timeout: 5) { probe.started.count == 3 })
        #expect(runner.abandonOverdue(now: Date().addingTimeInterval(600)).count == 3)
        #expect(runner.stuck == (threads: 1, emptySlots: 0), "under the cap: replaced")
        #expect(eventually(timeout: 5) { runner.threadCount == 4 })

        runner.push((4...6).map { SlotProbe.job($0, "stuck") })
        #expect(eventually(timeout: 5) { probe.started.count == 6 })
        #expect(runner.abandonOverdue(now: Date().addingTimeInterval(600)).count == 3)
        #expect(runner.stuck == (threads: 2, emptySlots: 1), "at the cap: one slot left empty for the one thread")
        #expect(runner.freeSlots == 2)
        #expect(runner.threadCount == 4)

        runner.push((7...8).map { SlotProbe.job($0, "quick") })
        #expect(eventually(timeout: 5) { Set(probe.recorded) == [7, 8] })

        probe.gate.signal()
        #expect(eventually(timeout: 5) { runner.stuck == (threads: 0, emptySlots: 0) && runner.threadCount == 3 })
        #expect(runner.freeSlots == 3)
        #expect(Set(probe.recorded) == [7, 8], "the abandoned jobs' late outcomes are not recorded")
    }

    /// A batch abandoned for one overrunning job still records its other jobs as they end, and
    /// claims for the slots they free.
    @Test func theOtherJobsOfAnAbandonedBatchAreRecordedAndClaimedFor() {
        let probe = SlotProbe()
        let runner = probe.runner(concurrency: 2, maxStuckThreads: 2, batchSize: 2)
        runner.startThreads()
        defer {
            probe.gate.signal()
            _ = runner.stop()
        }
        runner.push([SlotProbe.job(1, "stuck", timeout: 1), SlotProbe.job(2, "stuck", timeout: 600)])
        #expect(eventually(timeout: 5) { probe.started.count == 2 })
        #expect(runner.abandonOverdue(now: Date().addingTimeInterval(10)).map(\.job.id) == [1])
        #expect(runner.stuck.threads == 1)
        let claimsBefore = probe.claims
        probe.gate.signal()
        #expect(eventually(timeout: 5) { probe.recorded == [2] })
        #expect(eventually(timeout: 5) { probe.claims == claimsBefore + 1 })
        #expect(eventually(timeout: 5) { runner.stuck.threads == 0 && runner.threadCount == 2 })
    }
}
