import Foundation
import Postgres

/// Maps `jobs.kind` strings to typed handlers. A kind the registry does not know is discarded
/// by the worker with a clear error; it never crashes a worker.
public struct JobRegistry: Sendable {
    struct Entry: Sendable {
        let kind: String
        let queue: String
        let timeout: TimeInterval
        let retryPolicy: RetryPolicy
        let priority: Int
        let run: @Sendable (Data, JobContext) throws -> Void
        let stopping: @Sendable (JobDatabase) -> Void
    }

    private(set) var entries: [String: Entry] = [:]

    public init() {}

    public mutating func register<K: JobKind>(_ handler: K) {
        precondition(entries[K.kind] == nil, "job kind \(K.kind) registered twice")
        entries[K.kind] = Entry(
            kind: K.kind, queue: K.queue, timeout: K.timeout, retryPolicy: K.retryPolicy, priority: K.priority,
            run: { data, context in
                let args: K.Args
                do {
                    args = try K.decodeArgs(data)
                } catch {
                    throw JobError.discard("arguments do not decode as \(K.kind): \(JobRegistry.describe(error))")
                }
                try handler.perform(args, context: context)
            },
            stopping: { handler.workerStopping(database: $0) })
    }

    /// Tells every kind the worker is stopping (`JobKind.workerStopping`).
    func workerStopping(database: JobDatabase) {
        for entry in entries.values.sorted(by: { $0.kind < $1.kind }) { entry.stopping(database) }
    }

    public var kinds: [String] { entries.keys.sorted() }

    /// Every queue some registered kind runs on.
    public var queues: [String] { Set(entries.values.map(\.queue)).sorted() }

    public func queue(of kind: String) -> String? { entries[kind]?.queue }
    public func timeout(of kind: String) -> TimeInterval? { entries[kind]?.timeout }
    public func retryPolicy(of kind: String) -> RetryPolicy? { entries[kind]?.retryPolicy }

    func entry(_ kind: String) -> Entry? { entries[kind] }

    /// Writes every kind's settings to `job_kinds`, where SQL that enqueues (`job_enqueue`)
    /// reads them; a worker does this when it starts, so the table follows the code it runs.
    public func publish(on connection: Connection) throws {
        let ordered = entries.values.sorted { $0.kind < $1.kind }
        guard !ordered.isEmpty else { return }
        try connection.sql("""
            INSERT INTO job_kinds (kind, queue, priority, max_attempts, timeout_seconds)
            SELECT * FROM unnest(\(ordered.map(\.kind))::text[], \(ordered.map(\.queue))::text[], \(ordered.map(\.priority))::int[],
                                 \(ordered.map(\.retryPolicy.maxAttempts))::int[],
                                 \(ordered.map { Int(max(1, $0.timeout.rounded(.up))) })::int[])
            ON CONFLICT (kind) DO UPDATE SET queue = excluded.queue, priority = excluded.priority,
                max_attempts = excluded.max_attempts, timeout_seconds = excluded.timeout_seconds, published_at = now()
            WHERE (job_kinds.queue, job_kinds.priority, job_kinds.max_attempts, job_kinds.timeout_seconds)
                IS DISTINCT FROM (excluded.queue, excluded.priority, excluded.max_attempts, excluded.timeout_seconds)
            """)
    }

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// A decoding error described by the path of the field at fault, not by the input's values.
    static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(type(of: error))" }
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "(root)" : p
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing field \(parent == "(root)" ? key.stringValue : parent + "." + key.stringValue)"
        case .typeMismatch(let type, let context): return "field \(path(context)) is not of type \(type)"
        case .valueNotFound(let type, let context): return "field \(path(context)) is null, expected \(type)"
        case .dataCorrupted(let context): return "malformed at \(path(context))"
        @unknown default: return "undecodable"
        }
    }
}
