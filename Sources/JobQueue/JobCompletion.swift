import Foundation
import Postgres
import Synchronization

/// One attempt of a running job, completed by its handler in the handler's own transaction,
/// with the work it did (River's `JobCompleteTx`): the job is completed exactly when that work
/// commits, and the worker's completer writes nothing more for it (a statement and a commit
/// fewer per batch of deliveries).
public struct JobCompletion: Sendable {
    let id: Int64
    let attempt: Int
    let workerID: String
}

extension JobContext {
    /// This attempt, to be completed in the handler's transaction (`JobQueue.completing`).
    public var completion: JobCompletion { JobCompletion(id: jobID, attempt: attempt, workerID: workerID) }

    /// Says that the transaction holding `completion` committed; the handler then returns
    /// normally. A handler that throws after it is still retried or discarded as usual, and
    /// finds the job completed, which those transitions leave alone.
    public func completedInTransaction() { completedByHandler.store(true, ordering: .relaxed) }
}

extension JobQueue {
    /// The statement that completes `completions`, each only while its attempt is still this
    /// worker's running one (as the completer's), for the caller's transaction or pipeline.
    public static func completing(_ completions: [JobCompletion]) -> PostgresQuery {
        // In id order, as other writers of several jobs lock them, so none waits in a circle.
        let sorted = completions.sorted { $0.id < $1.id }
        return JobTransitions.completing(ids: sorted.map(\.id), attempts: sorted.map(\.attempt), workerIDs: sorted.map(\.workerID))
    }
}
