import Foundation

/// A kind whose claimed jobs a slot runs several at a time on one thread: up to `batchSize`
/// of them, taken together from what the worker claimed. Each job keeps its own context
/// (deadline, attempt, outcome); the batch only shares the thread, so a kind that spends most
/// of each job waiting on a few round trips (reads, an outbound call, a write) can make those
/// round trips once per batch instead of once per job, without a thread and its wake-ups per
/// job. The queue's concurrency still counts jobs in flight, not threads.
public protocol BatchJobKind: JobKind {
    /// At most this many jobs of the kind run together (1 runs them one by one).
    static var batchSize: Int { get }

    /// Runs `jobs` together and answers one result per job, in order: nil when the job
    /// succeeded, else what `perform` would have thrown for it (`JobError`, or any error to be
    /// retried by `retryPolicy`).
    func performBatch(_ jobs: [BatchJob<Args>]) -> [(any Error)?]
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

extension BatchJobKind {
    /// A job on its own is a batch of one.
    public func perform(_ args: Args, context: JobContext) throws {
        if let error = performBatch([BatchJob(args: args, context: context)]).first ?? nil { throw error }
    }
}
