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
        /// At most this many of the kind's jobs run together on one slot thread (`BatchJobKind`).
        let batchSize: Int
        /// Runs jobs given as their stored arguments and contexts, calling back with their
        /// outcomes (each job's index, nil for success) as they end, once per job.
        let run: @Sendable ([(Data, JobContext)], ([(Int, (any Error)?)]) -> Void) -> Void
        let stopping: @Sendable (JobDatabase) -> Void
    }

    private(set) var entries: [String: Entry] = [:]

    public init() {}

    public mutating func register<K: JobKind>(_ handler: K) {
        precondition(entries[K.kind] == nil, "job kind \(K.kind) registered twice")
        entries[K.kind] = Entry(
            kind: K.kind, queue: K.queue, timeout: K.timeout, retryPolicy: K.retryPolicy, priority: K.priority, batchSize: 1,
            run: { jobs, finish in
                for (i, (data, context)) in jobs.enumerated() {
                    do {
                        try handler.perform(try JobRegistry.decode(K.self, data), context: context)
                        finish([(i, nil)])
                    } catch {
                        finish([(i, error)])
                    }
                }
            },
            stopping: { handler.workerStopping(database: $0) })
    }

    /// A kind whose jobs may run several at a time on one thread (`BatchJobKind`); a job whose
    /// arguments do not decode is discarded on its own, the others run.
    public mutating func register<K: BatchJobKind>(_ handler: K) {
        precondition(entries[K.kind] == nil, "job kind \(K.kind) registered twice")
        precondition(K.batchSize >= 1, "job kind \(K.kind) has a batch size below 1")
        entries[K.kind] = Entry(
            kind: K.kind, queue: K.queue, timeout: K.timeout, retryPolicy: K.retryPolicy, priority: K.priority, batchSize: K.batchSize,
            run: { jobs, finish in
                var batch: [BatchJob<K.Args>] = []
                var positions: [Int] = []
                var undecodable: [(Int, (any Error)?)] = []
                for (i, (data, context)) in jobs.enumerated() {
                    do {
                        batch.append(BatchJob(args: try JobRegistry.decode(K.self, data), context: context))
                        positions.append(i)
                    } catch {
                        undecodable.append((i, error))
                    }
                }
                if !undecodable.isEmpty { finish(undecodable) }
                guard !batch.isEmpty else { return }
                // Each job finished once; those the kind left unfinished are failed after it returns.
                var finished = [Bool](repeating: false, count: batch.count)
                withoutActuallyEscaping(finish) { finish in
                    handler.performBatch(batch, finish: BatchFinish { outcomes in
                        var first: [(Int, (any Error)?)] = []
                        for (n, error) in outcomes where batch.indices.contains(n) && !finished[n] {
                            finished[n] = true
                            first.append((positions[n], error))
                        }
                        if !first.isEmpty { finish(first) }
                    })
                }
                let unfinished = finished.indices.filter { !finished[$0] }.map { (positions[$0], BatchJobError.unfinished as (any Error)?) }
                if !unfinished.isEmpty { finish(unfinished) }
            },
            stopping: { handler.workerStopping(database: $0) })
    }

    /// A job's stored arguments read as its kind's, or the discard that names the field at fault.
    private static func decode<K: JobKind>(_: K.Type, _ data: Data) throws -> K.Args {
        do {
            return try K.decodeArgs(data)
        } catch {
            throw JobError.discard("arguments do not decode as \(K.kind): \(JobRegistry.describe(error))")
        }
    }

    /// How many of a kind's jobs a slot runs together (1 for a kind this registry does not know).
    func batchSize(of kind: String) -> Int { entries[kind]?.batchSize ?? 1 }

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
