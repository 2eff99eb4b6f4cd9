import Foundation

/// A kind whose claimed jobs a slot runs several at a time on one thread: up to `batchSize`
/// of them, taken together from what the worker claimed. Each job keeps its own context
/// (deadline, attempt, outcome); the batch only shares the thread, so a kind that spends most
/// of each job waiting on a few round trips (reads, an outbound call, a write) can make those
/// round trips once per batch instead of once per job, without a thread and its wake-ups per
/// job. The queue's concurrency still counts jobs in flight, not threads.
///
/// A job's outcome is given as soon as it is known (`finish`), not when the batch returns: the
/// worker records it and the job's slot serves the next claimed job at once, so one job of a
/// batch waiting on a slow answer holds only its own slot.
public protocol BatchJobKind: JobKind {
    /// At most this many jobs of the kind run together (1 runs them one by one).
    static var batchSize: Int { get }

    /// Runs `jobs` together, calling `finish` once per job, from this thread, as soon as its
    /// outcome is known: with the job's index in `jobs` and nil when it succeeded, else what
    /// `perform` would have thrown for it (`JobError`, or any error to be retried by
    /// `retryPolicy`). `finish` is not kept past the return; a job not finished by then is
    /// retried as failed.
    func performBatch(_ jobs: [BatchJob<Args>], finish: BatchFinish)
}

/// One job of a batch: its arguments and its own context.
public struct BatchJob<Args: Sendable>: Sendable {
    public let args: Args
    public let context: JobContext

    public init(args: Args, context: JobContext) {
        self.args = args
        self.context = context
    }
}

/// Gives the worker outcomes in the middle of a batch (`BatchJobKind.performBatch`). Outcomes
/// given together are recorded together, and the slots they free are claimed for at once.
///
/// Valid only until `performBatch` returns: the worker runs it through
/// `withoutActuallyEscaping`, so a kind that keeps it past the return stops the process with
/// a runtime error rather than recording outcomes for jobs it no longer owns.
public struct BatchFinish {
    let body: ([(Int, (any Error)?)]) -> Void
    public init(_ body: @escaping ([(Int, (any Error)?)]) -> Void) { self.body = body }
    /// Several jobs' outcomes: each job's index in the batch, and nil when it succeeded.
    public func callAsFunction(_ outcomes: [(Int, (any Error)?)]) { if !outcomes.isEmpty { body(outcomes) } }
    public func callAsFunction(_ index: Int, _ error: (any Error)?) { body([(index, error)]) }
}

extension BatchJobKind {
    /// A job on its own is a batch of one.
    public func perform(_ args: Args, context: JobContext) throws {
        var outcome: (any Error)? = BatchJobError.unfinished
        performBatch([BatchJob(args: args, context: context)], finish: BatchFinish { outcomes in outcome = outcomes[0].1 })
        if let outcome { throw outcome }
    }
}

/// A job its batch returned without finishing (`BatchJobKind.performBatch`): retried.
struct BatchJobError: Error, CustomStringConvertible {
    static let unfinished = BatchJobError()
    var description: String { "the batch ended without an outcome for this job" }
}
