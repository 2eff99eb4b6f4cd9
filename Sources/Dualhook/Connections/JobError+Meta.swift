import JobQueue
import Meta

extension JobError {
    /// A Meta answer that asks the caller to wait (`GraphError.waitBeforeRetry`: a rate limit,
    /// 133015): the job steps aside that long, its attempt not spent. Nil for any other error.
    static func waitingForMeta(_ error: GraphError, _ what: String) -> JobError? {
        error.waitBeforeRetry.map { .snooze(after: $0, "\(what): Meta asks to wait: \(error)") }
    }
}
