import Foundation

/// How an attempt ended, as the worker records it.
enum JobOutcome: Sendable {
    case completed
    /// Back to `available` after `delay` seconds.
    case retry(delay: TimeInterval, error: String)
    /// No more attempts.
    case discard(error: String)
    /// Back to `available` after `delay` seconds, the attempt not counted.
    case snooze(delay: TimeInterval)

    /// Maps a handler's error to an outcome under the kind's policy.
    static func failure(_ error: Error, attempt: Int, maxAttempts: Int, policy: RetryPolicy) -> JobOutcome {
        let message = JobOutcome.describe(error)
        if let jobError = error as? JobError {
            switch jobError.action {
            case .discard:
                return .discard(error: message)
            case .retry(let after):
                return attempt >= maxAttempts ? .discard(error: message) : .retry(delay: max(0, after), error: message)
            case .snooze(let after):
                return .snooze(delay: max(0, after))
            }
        }
        if attempt >= maxAttempts { return .discard(error: message) }
        return .retry(delay: policy.delay(afterAttempt: attempt), error: message)
    }

    /// Errors are kept on the job row; bounded so a chatty error cannot bloat it.
    static func describe(_ error: Error) -> String {
        let text = "\(error)"
        return text.count > 2000 ? String(text.prefix(2000)) + "…" : text
    }
}

/// The error recorded when a handler overran its kind's timeout.
struct JobTimeout: Error, CustomStringConvertible {
    let seconds: Int
    var description: String { "timed out after \(seconds) s" }
}
