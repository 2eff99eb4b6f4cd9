import Foundation

/// A typed job kind: its arguments, where it runs, how long it may take, how it is retried.
///
/// Handlers are synchronous and run on threads the worker owns, so they may call blocking C
/// libraries (libpq, libcurl) freely. A handler returns to succeed, throws `JobError.discard`
/// for a permanent failure, `JobError.retry(after:)` to name its own delay, and any other error
/// to be retried by `retryPolicy`.
public protocol JobKind: Sendable {
    associatedtype Args: Codable & Sendable

    /// The stable name stored in `jobs.kind`, e.g. `onboarding.exchange_code`.
    static var kind: String { get }
    static var queue: String { get }
    /// The attempt's deadline; the lease is this plus a margin, after which the reaper steps in.
    static var timeout: TimeInterval { get }
    static var retryPolicy: RetryPolicy { get }
    static var priority: Int { get }

    func perform(_ args: Args, context: JobContext) throws

    /// Reads a job's stored arguments (`jobs.args` as JSON text). The default is
    /// `JSONDecoder`; a kind that runs thousands of times a second may read its few fields
    /// itself. An error discards the job, naming the kind.
    static func decodeArgs(_ json: Data) throws -> Args

    /// Called once when a worker stops, after its jobs ended or were handed back and before its
    /// connections close: a kind that keeps something between jobs (a lease held in the
    /// database, say) gives it back here rather than leaving it until the lease runs out.
    func workerStopping(database: JobDatabase)
}

extension JobKind {
    public static var queue: String { "default" }
    public static var timeout: TimeInterval { 60 }
    public static var retryPolicy: RetryPolicy { .standard }
    public static var priority: Int { 0 }

    public static func decodeArgs(_ json: Data) throws -> Args {
        try JobRegistry.decoder.decode(Args.self, from: json)
    }

    public func workerStopping(database: JobDatabase) {}
}

/// Per-enqueue overrides of a kind's defaults.
public struct JobOptions: Sendable {
    /// At most one available-or-running job per key; a second enqueue is a no-op.
    public var uniqueKey: String?
    public var runAt: Date?
    public var delay: TimeInterval?
    public var priority: Int?
    public var queue: String?
    public var maxAttempts: Int?
    public var timeout: TimeInterval?
    /// Bulk enqueue only: each job starts up to this many seconds later, at random, so a sweep's
    /// jobs spread over time instead of starting together.
    public var spread: TimeInterval?

    public init(uniqueKey: String? = nil, runAt: Date? = nil, delay: TimeInterval? = nil, priority: Int? = nil,
                queue: String? = nil, maxAttempts: Int? = nil, timeout: TimeInterval? = nil, spread: TimeInterval? = nil) {
        self.spread = spread
        self.uniqueKey = uniqueKey
        self.runAt = runAt
        self.delay = delay
        self.priority = priority
        self.queue = queue
        self.maxAttempts = maxAttempts
        self.timeout = timeout
    }
}
