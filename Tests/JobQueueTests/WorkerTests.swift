import Foundation
@testable import JobQueue
import Postgres
import TestSupport
import Testing

@Suite struct WorkerTests {
    @Test func unknownKindsAndUndecodableArgsAreDiscardedAndTheWorkerGoesOn() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        let recorder = Recorder()
        var registry = JobRegistry()
        registry.register(CountJob(recorder: recorder))
        let (unknown, undecodable, good) = try db.with { connection throws in
            (try JobQueue.enqueueRaw(kind: "no.such.kind", queue: "default", argsJSON: "{}", on: connection)!,
             try JobQueue.enqueueRaw(kind: "test.count", queue: "default", argsJSON: #"{"n":"seven"}"#, on: connection)!,
             try JobQueue.enqueue(CountJob.self, .init(n: 1), on: connection)!)
        }
        let harness = WorkerHarness(db, registry: registry)
        defer { harness.stop() }
        #expect(eventually(timeout: 10) { (try? jobState(db, good)) == "completed" })
        #expect(eventually(timeout: 10) {
            (try? jobState(db, unknown)) == "discarded" && (try? jobState(db, undecodable)) == "discarded"
        })
        let errors = try db.with { connection throws in
            try connection.sql("SELECT id, last_error, attempt FROM jobs WHERE state = 'discarded' ORDER BY id").rows.map {
                (try $0.decode(Int64.self, at: 0), try $0.decode(String.self, at: 1), try $0.decode(Int.self, at: 2))
            }
        }
        #expect(errors.count == 2)
        #expect(errors[0].1.contains("unknown job kind no.such.kind"))
        #expect(errors[1].1.contains("arguments do not decode as test.count: field n is not of type"))
        // Permanent errors are not retried.
        #expect(errors.allSatisfy { $0.2 == 1 })
        #expect(recorder.all == [good])
    }

    /// `JobKind.workerStopping`: called once, after the jobs ran, with the pool still open.
    @Test func eachKindIsToldOnceWhenTheWorkerStops() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        let (recorder, stops) = (Recorder(), Recorder())
        var registry = JobRegistry()
        registry.register(StoppingJob(recorder: recorder, stops: stops))
        let job = try db.with { try JobQueue.enqueue(StoppingJob.self, .init(), on: $0)! }
        let harness = WorkerHarness(db, registry: registry)
        #expect(eventually(timeout: 10) { (try? jobState(db, job)) == "completed" })
        #expect(stops.all.isEmpty)
        harness.stop()
        #expect(stops.all == [1])
    }

    /// A handler that completes its job in its own transaction: the job is completed by that
    /// transaction (the row's version is that transaction's), or not at all when it rolls back.
    @Test func aHandlerCompletesItsJobInItsOwnTransaction() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        var registry = JobRegistry()
        registry.register(SelfCompletingJob())
        let (done, undone) = try db.with { connection throws in
            try connection.execute("CREATE TABLE self_completed (job_id bigint PRIMARY KEY)")
            return (try JobQueue.enqueue(SelfCompletingJob.self, .init(), on: connection)!,
                    try JobQueue.enqueue(SelfCompletingJob.self, .init(rollBack: true), on: connection)!)
        }
        let harness = WorkerHarness(db, registry: registry)
        #expect(eventually(timeout: 10) { (try? jobState(db, done)) == "completed" })
        #expect(eventually(timeout: 10) {
            (try? db.with { try $0.sql("SELECT state FROM jobs WHERE id = \(undone) AND errors <> '[]'").scalar(String.self) }) == "available"
        })
        harness.stop()
        let sameTransaction = try db.with { connection throws in
            try connection.sql("""
                SELECT j.xmin::text = s.xmin::text AND j.finalized_at IS NOT NULL AND j.locked_until IS NULL
                FROM jobs j JOIN self_completed s ON s.job_id = j.id WHERE j.id = \(done)
                """).scalar(Bool.self)
        }
        #expect(sameTransaction == true, "completed by the handler's transaction")
        #expect(try db.with { try $0.sql("SELECT count(*) FROM self_completed WHERE job_id = \(undone)").scalar(Int.self) } == 0)
        #expect(try jobState(db, undone) == "available", "rolled back with its work: retried, not completed")
    }

    @Test func aHandlersRetryAfterSetsTheNextRun() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        var registry = JobRegistry()
        registry.register(RetryAfterJob())
        let id = try db.with { try JobQueue.enqueue(RetryAfterJob.self, .init(), on: $0)! }
        let harness = WorkerHarness(db, registry: registry)
        #expect(eventually(timeout: 10) {
            (try? db.with { try $0.sql("SELECT attempt FROM jobs WHERE id = \(id) AND state = 'available'").scalar(Int.self) }) == 1
        })
        harness.stop()
        let gap = try db.with { connection throws in
            try connection.sql("""
                SELECT extract(epoch FROM run_at - (errors->0->>'at')::timestamptz)::float8 FROM jobs WHERE id = \(id)
                """).scalar(Double.self)
        }
        #expect(gap.map { abs($0 - 7) < 0.01 } == true, "run_at should be 7 s after the failure, was \(String(describing: gap))")
    }

    @Test func theReaperReturnsJobsWhoseLeaseExpired() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        var registry = JobRegistry()
        registry.register(SlowPolicyJob())
        let ids = try db.with { connection throws in
            try connection.sql("""
                INSERT INTO jobs (queue, kind, state, attempt, max_attempts, locked_by, locked_until, attempted_at)
                VALUES ('default', 'test.slow_policy', 'running', 1, 3, 'dead-worker', now() - interval '1 second', now()),
                       ('default', 'test.slow_policy', 'running', 3, 3, 'dead-worker', now() - interval '1 second', now()),
                       ('default', 'test.slow_policy', 'running', 1, 3, 'live-worker', now() + interval '1 hour', now())
                RETURNING id
                """).rows.map { try $0.decode(Int64.self, at: 0) }
        }
        let pool = ConnectionPool(url: db.url, maxConnections: 1)
        #expect(try Reaper.reap(registry: registry, pool: pool) == 2)
        let rows = try db.with { connection throws in
            try connection.sql("""
                SELECT state, extract(epoch FROM run_at - now())::float8, last_error FROM jobs WHERE id = ANY(\(ids)::bigint[]) ORDER BY id
                """).rows.map { (try $0.decode(String.self, at: 0), try $0.decode(Double.self, at: 1), try $0.decode(String?.self, at: 2)) }
        }
        #expect(rows[0].0 == "available")
        #expect(abs(rows[0].1 - 30) < 2, "the kind's first delay applies")
        #expect(rows[0].2?.contains("lease expired: worker dead-worker") == true)
        #expect(rows[1].0 == "discarded")
        #expect(rows[2].0 == "running")
        #expect(try Reaper.reap(registry: registry, pool: pool) == 0)
    }

    @Test func operatorsRetryAndCancel() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        try db.with { connection throws in
            let waiting = try JobQueue.enqueue(CountJob.self, .init(n: 1), on: connection)!
            let dead = try connection.sql("""
                INSERT INTO jobs (queue, kind, state, attempt, max_attempts, finalized_at) VALUES ('default', 'test.count', 'discarded', 3, 3, now())
                RETURNING id
                """).scalar(Int64.self)!
            #expect(try JobAdmin.cancel(id: waiting, on: connection) == .changed)
            #expect(try JobAdmin.cancel(id: waiting, on: connection) == .wrongState("cancelled"))
            #expect(try JobAdmin.retry(id: dead, on: connection) == .changed)
            #expect(try JobAdmin.retry(id: 999_999, on: connection) == .notFound)
            // One live job per unique key: a finished one whose key a live job holds waits for it.
            let first = try JobQueue.enqueue(CountJob.self, .init(n: 2), options: JobOptions(uniqueKey: "k"), on: connection)!
            #expect(try JobAdmin.cancel(id: first, on: connection) == .changed)
            let second = try JobQueue.enqueue(CountJob.self, .init(n: 3), options: JobOptions(uniqueKey: "k"), on: connection)!
            #expect(try JobAdmin.retry(id: first, on: connection) == .keyHeld(by: second))
            #expect(try JobAdmin.cancel(id: second, on: connection) == .changed)
            #expect(try JobAdmin.retry(id: first, on: connection) == .changed)
            #expect(try JobAdmin.cancel(id: first, on: connection) == .changed)
            let row = try connection.sql("SELECT state, max_attempts FROM jobs WHERE id = \(dead)")[0]
            #expect(try row.decode(String.self, at: 0) == "available")
            #expect(try row.decode(Int.self, at: 1) == 4)
            let stats = try JobAdmin.stats(on: connection)
            #expect(stats.first?.available == 1 && stats.first?.cancelled == 3)
        }
    }

    /// A job cancelled while it runs is not run again; an attempt that finishes its work
    /// anyway completes it (the work happened), as River's cancel does.
    @Test func aJobCancelledWhileRunningCompletesOnlyIfItsAttemptSucceeds() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        let (started, gate) = (Recorder(), DispatchSemaphore(value: 0))
        var registry = JobRegistry()
        registry.register(GatedJob(started: started, gate: gate))
        let (succeeds, fails) = try db.with { connection throws in
            (try JobQueue.enqueue(GatedJob.self, .init(), on: connection)!,
             try JobQueue.enqueue(GatedJob.self, .init(fail: true), on: connection)!)
        }
        let harness = WorkerHarness(db, registry: registry)
        defer { harness.stop() }
        #expect(eventually(timeout: 10) { started.all.count == 2 })
        try db.with { connection throws in
            #expect(try JobAdmin.cancel(id: succeeds, on: connection) == .changed)
            #expect(try JobAdmin.cancel(id: fails, on: connection) == .changed)
        }
        #expect(try jobState(db, succeeds) == "cancelled")
        gate.signal()
        #expect(eventually(timeout: 10) { (try? jobState(db, succeeds)) == "completed" })
        // The failed attempt's retry is dropped: it stays cancelled and never runs again.
        Thread.sleep(forTimeInterval: 2)
        #expect(try jobState(db, fails) == "cancelled")
        #expect(started.all.count == 2)
    }

    /// Only an attempt running when the job was cancelled may complete it: one that failed (or
    /// was reaped) before an operator cancelled the waiting job, and came back late, may not.
    @Test func aLateAttemptDoesNotCompleteAJobCancelledWhileWaiting() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        try db.with { connection throws in
            let id = try JobQueue.enqueue(CountJob.self, .init(n: 1), on: connection)!
            let claimed = try JobTransitions.claim(queue: "default", limit: 1, workerID: "w1", leaseMargin: 5, on: connection)
            #expect(claimed.map(\.id) == [id])
            try JobTransitions.fail(id: id, attempt: 1, workerID: "w1", .retry(after: 60), error: "timed out", on: connection)
            #expect(try JobAdmin.cancel(id: id, on: connection) == .changed)
            try connection.sql(JobQueue.completing([JobCompletion(id: id, attempt: 1, workerID: "w1")]))
            #expect(try jobState(db, id) == "cancelled")
        }
    }

    /// The console's list of workers: a worker reports its queues when it starts and takes its
    /// row away when it stops cleanly.
    @Test func aWorkerReportsItselfAndSignsOffWhenItStops() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        var registry = JobRegistry()
        registry.register(CountJob(recorder: Recorder()))
        let harness = WorkerHarness(db, registry: registry, queues: ["default", "other"], concurrency: 3)
        var reports: [JobAdmin.WorkerReport] = []
        #expect(eventually(timeout: 10) {
            reports = (try? db.with { try JobAdmin.workers(on: $0) }) ?? []
            return !reports.isEmpty
        })
        #expect(reports.map(\.id) == [harness.worker.configuration.workerID])
        #expect(reports.first?.queues == "default:3,other:3" && reports.first?.isLive == true && reports.first?.running == 0)
        harness.stop()
        #expect(try db.with { try JobAdmin.workers(on: $0) }.isEmpty, "signed off")
    }

    @Test func twoSchedulersEnqueueOneSweepPerPeriod() throws {
        let db = try TestDatabase(label: "jq")
        defer { db.drop() }
        let sweep = PeriodicJob.sweep(PruneJobs.self, name: "prune", every: 1, args: .init())
        let schedulers = (0..<2).map { _ in
            Scheduler(jobs: [sweep], databaseURL: db.url, logger: .init(label: "t", minimumLevel: .error))
        }
        let group = DispatchGroup()
        let end = Date().addingTimeInterval(2.5)
        for scheduler in schedulers {
            DispatchQueue.global().async(group: group) {
                while Date() < end { _ = try? scheduler.tick(); Thread.sleep(forTimeInterval: 0.01) }
            }
        }
        group.wait()
        try db.with { connection throws in
            let jobs = try connection.sql("SELECT count(*), count(DISTINCT unique_key) FROM jobs WHERE kind = 'sweep.prune'")[0]
            let periods = try connection.sql("SELECT count(*) FROM job_periods WHERE name = 'prune'").scalar(Int.self)!
            #expect(try jobs.decode(Int.self, at: 0) == periods)
            #expect(try jobs.decode(Int.self, at: 1) == periods)
            #expect(periods >= 2 && periods <= 4)
        }
    }
}
