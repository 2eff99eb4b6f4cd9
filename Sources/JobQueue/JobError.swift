import Foundation

/// What a handler throws to steer the queue, beyond an ordinary error (retried by policy).
public struct JobError: Error, Sendable, CustomStringConvertible {
    public enum Action: Sendable, Equatable {
        /// Retry after this many seconds (a `Retry-After` from a remote, say), still counting
        /// towards the kind's attempts.
        case retry(after: TimeInterval)
        /// A permanent failure: no more attempts.
        case discard
        /// Not now, and not a failure: back to `available` after this many seconds without
        /// counting the attempt or recording an error (a resource the job needs is busy).
        case snooze(after: TimeInterval)
    }

    public let action: Action
    public let message: String

    public static func retry(after seconds: TimeInterval, _ message: String) -> JobError {
        JobError(action: .retry(after: seconds), message: message)
    }

    public static func snooze(after seconds: TimeInterval, _ message: String) -> JobError {
        JobError(action: .snooze(after: seconds), message: message)
    }

    public static func discard(_ message: String) -> JobError {
        JobError(action: .discard, message: message)
    }

    public var description: String { message }
}
