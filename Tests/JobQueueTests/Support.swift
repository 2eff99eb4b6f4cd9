import Foundation
@testable import JobQueue
import Logging
import Postgres
import TestSupport

/// Records which jobs ran, from any thread.
final class Recorder: @unchecked Sendable {
    // `@unchecked Sendable`: guarded by `lock`.
    private let lock = NSLock()
    private var runs: [Int64] = []
    func record(_ id: Int64) { lock.withLock { runs.append(id) } }
    var all: [Int64] { lock.withLock { runs } }
}

struct CountJob: JobKind {
    struct Args: Codable, Sendable { var n: Int }
    static let kind = "test.count"
    let recorder: Recorder
    func perform(_ args: Args, context: JobContext) throws { recorder.record(context.jobID) }
}

/// Counts the jobs it ran and, when the worker stops, uses the connection it is given.
struct StoppingJob: JobKind {
    struct Args: Codable, Sendable {}
    static let kind = "test.stopping"
    let recorder: Recorder
    let stops: Recorder
    func perform(_ args: Args, context: JobContext) throws { recorder.record(context.jobID) }
    func workerStopping(database: JobDatabase) {
        let ran = recorder.all.count
        // The pool is still open: what a kind gives back at the stop reaches the database.
        if (try? database.withConnection({ try $0.sql("SELECT 1").scalar(Int.self) })) == 1 { stops.record(Int64(ran)) }
    }
}

/// Completes itself in its own transaction with a row of its own (`JobQueue.completing`); with
/// `rollBack`, that transaction fails after the completion and the handler throws.
struct SelfCompletingJob: JobKind {
    struct Args: Codable, Sendable { var rollBack = false }
    static let kind = "test.self_completing"
    static let retryPolicy = RetryPolicy.fixed([600])
    struct Boom: Error {}
    func perform(_ args: Args, context: JobContext) throws {
        try context.database.transaction { tx in
            try tx.sql("INSERT INTO self_completed (job_id) VALUES (\(context.jobID))")
            try tx.sql(JobQueue.completing([context.completion]))
            if args.rollBack { throw Boom() }
        }
        context.completedInTransaction()
    }
}

struct RetryAfterJob: JobKind {
    struct Args: Codable, Sendable {}
    static let kind = "test.retry_after"
    static let retryPolicy = RetryPolicy.fixed([1, 1, 1])
    func perform(_ args: Args, context: JobContext) throws { throw JobError.retry(after: 7, "remote said 429") }
}

struct SlowPolicyJob: JobKind {
    struct Args: Codable, Sendable {}
    static let kind = "test.slow_policy"
    static let retryPolicy = RetryPolicy.fixed([30, 60])
    func perform(_ args: Args, context: JobContext) throws {}
}

/// A worker running on its own thread inside the test process.
final class WorkerHarness: @unchecked Sendable {
    // `@unchecked Sendable`: both fields are set once in init.
    let worker: Worker
    private let done = DispatchSemaphore(value: 0)

    init(_ db: TestDatabase, registry: JobRegistry, queues: [String] = ["default"], concurrency: Int = 4,
         configure: (inout WorkerConfiguration) -> Void = { _ in }) {
        var configuration = WorkerConfiguration(queues: queues.map { .init(name: $0, concurrency: concurrency) })
        configuration.pollInterval = 0.2
        configure(&configuration)
        worker = Worker(configuration: configuration, registry: registry, databaseURL: db.url,
                        logger: Logger(label: "test-worker", minimumLevel: .error))
        let thread = Thread { [worker, done] in
            worker.run()
            done.signal()
        }
        thread.start()
    }

    func stop() {
        worker.stop()
        _ = done.wait(timeout: .now() + 30)
    }
}

/// Runs until `gate` opens, then succeeds, or fails with a retry when `fail` is set.
struct GatedJob: JobKind {
    struct Args: Codable, Sendable { var fail = false }
    static let kind = "test.gated"
    static let retryPolicy = RetryPolicy.fixed([1])
    struct Refused: Error {}
    let started: Recorder
    let gate: DispatchSemaphore
    func perform(_ args: Args, context: JobContext) throws {
        started.record(context.jobID)
        gate.wait()
        gate.signal()
        if args.fail { throw JobError.retry(after: 1, "the remote end refused") }
    }
}
