import Foundation
import Logging
import Postgres
import Synchronization

/// What a handler knows about the attempt it is running.
///
/// The deadline is the kind's timeout from the moment the job started; outbound calls derive
/// their own timeouts from it. `isCancelled` turns true when the deadline passed or the worker
/// is shutting down and its grace period ran out: long handlers check it between steps.
public final class JobContext: Sendable {
    public let jobID: Int64
    public let kind: String
    public let queue: String
    public let attempt: Int
    public let maxAttempts: Int
    public let deadline: Date
    /// When the job was enqueued: how long it has waited in all, across its retries and snoozes.
    public let createdAt: Date
    public let workerID: String
    public let logger: Logger
    /// The worker's pool, for the handler's own transactions, with statements cut at the
    /// deadline (`JobDatabase`).
    public let database: JobDatabase
    private let cancelled = Atomic<Bool>(false)
    /// Set by `completedInTransaction()`: the handler's own transaction completed the job.
    let completedByHandler = Atomic<Bool>(false)

    init(jobID: Int64, kind: String, queue: String, attempt: Int, maxAttempts: Int, deadline: Date, createdAt: Date,
         workerID: String, logger: Logger, database: ConnectionPool) {
        self.jobID = jobID
        self.kind = kind
        self.queue = queue
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.deadline = deadline
        self.createdAt = createdAt
        self.workerID = workerID
        self.logger = logger
        self.database = JobDatabase(pool: database, deadline: deadline)
    }

    public var isLastAttempt: Bool { attempt >= maxAttempts }

    /// Seconds left before the deadline (never negative).
    public var remaining: TimeInterval { max(0, deadline.timeIntervalSinceNow) }

    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) || deadline <= Date() }

    func cancel() { cancelled.store(true, ordering: .relaxed) }
}

extension JobContext {
    /// Runs `batch` (one statement or transaction touching at most `size` rows, returning how
    /// many it touched) until a batch comes back short or the attempt is cancelled; returns
    /// the total. Sweeps work this way so no single statement holds locks over a whole table.
    public func inBatches(of size: Int, _ batch: () throws -> Int) rethrows -> Int {
        var total = 0
        while !isCancelled {
            let touched = try batch()
            total += touched
            if touched < size { break }
        }
        return total
    }
}
