import Foundation
import Postgres

/// Enqueuing, always inside the caller's transaction: a job exists exactly when the work that
/// asked for it committed. A notification on the job's queue wakes idle workers at commit.
public enum JobQueue {
    /// The LISTEN/NOTIFY channel of a queue.
    public static func channel(for queue: String) -> String { "dualhook_jobs.\(queue)" }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    /// Enqueues one job; returns its id, or nil when a live job with the same unique key exists.
    @discardableResult
    public static func enqueue<K: JobKind>(_ kind: K.Type, _ args: K.Args, options: JobOptions = JobOptions(),
                                           on connection: Connection) throws -> Int64? {
        let json = String(decoding: try encoder.encode(args), as: UTF8.self)
        return try enqueueRaw(kind: K.kind, queue: options.queue ?? K.queue, argsJSON: json,
                              priority: options.priority ?? K.priority,
                              maxAttempts: options.maxAttempts ?? K.retryPolicy.maxAttempts,
                              timeout: options.timeout ?? K.timeout,
                              options: options, on: connection)
    }

    /// Enqueues one job by kind name with JSON arguments (operators, other languages).
    @discardableResult
    public static func enqueueRaw(kind: String, queue: String, argsJSON: String, priority: Int = 0,
                                  maxAttempts: Int = RetryPolicy.standard.maxAttempts, timeout: TimeInterval = 60,
                                  options: JobOptions = JobOptions(), on connection: Connection) throws -> Int64? {
        let result = try connection.query("""
            WITH inserted AS (
                INSERT INTO jobs (queue, kind, args, priority, run_at, max_attempts, timeout_seconds, unique_key)
                VALUES ($1, $2, $3::jsonb, $4, COALESCE($5::timestamptz, now() + make_interval(secs => $6)), $7, $8, $9)
                ON CONFLICT (unique_key) WHERE state IN ('available', 'running') DO NOTHING
                RETURNING id)
            SELECT id, pg_notify($10, '') FROM inserted
            """,
            [queue, kind, argsJSON, priority, options.runAt, options.delay ?? 0, maxAttempts,
             Int(max(1, timeout.rounded(.up))), options.uniqueKey, channel(for: queue)])
        return try result.scalar(Int64.self)
    }

    /// Enqueues many jobs of one kind in one statement; returns how many were inserted
    /// (fewer than given when unique keys collided). `uniqueKeys`, when given, pairs with `args`.
    @discardableResult
    public static func enqueueMany<K: JobKind>(_ kind: K.Type, _ args: [K.Args], uniqueKeys: [String]? = nil,
                                               options: JobOptions = JobOptions(), on connection: Connection) throws -> Int {
        guard !args.isEmpty else { return 0 }
        let jsons = try args.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        return try enqueueManyRaw(kind: K.kind, queue: options.queue ?? K.queue, argsJSON: jsons, uniqueKeys: uniqueKeys,
                                  priority: options.priority ?? K.priority,
                                  maxAttempts: options.maxAttempts ?? K.retryPolicy.maxAttempts,
                                  timeout: options.timeout ?? K.timeout, options: options, on: connection)
    }

    @discardableResult
    public static func enqueueManyRaw(kind: String, queue: String, argsJSON: [String], uniqueKeys: [String]? = nil,
                                      priority: Int = 0, maxAttempts: Int = RetryPolicy.standard.maxAttempts,
                                      timeout: TimeInterval = 60, options: JobOptions = JobOptions(),
                                      on connection: Connection) throws -> Int {
        guard !argsJSON.isEmpty else { return 0 }
        precondition(uniqueKeys == nil || uniqueKeys!.count == argsJSON.count, "one unique key per job")
        let keys = uniqueKeys ?? Array(repeating: "", count: argsJSON.count)
        let result = try connection.query("""
            WITH inserted AS (
                INSERT INTO jobs (queue, kind, args, priority, run_at, max_attempts, timeout_seconds, unique_key)
                SELECT $1, $2, a, $4, COALESCE($5::timestamptz, now() + make_interval(secs => $6)), $7, $8, NULLIF(k, '')
                FROM unnest($3::jsonb[], $9::text[]) AS t(a, k)
                ON CONFLICT (unique_key) WHERE state IN ('available', 'running') DO NOTHING
                RETURNING 1)
            SELECT count(*), CASE WHEN count(*) > 0 THEN pg_notify($10, '') END FROM inserted
            """,
            [queue, kind, argsJSON, priority, options.runAt, options.delay ?? 0, maxAttempts,
             Int(max(1, timeout.rounded(.up))), keys, channel(for: queue)])
        return try result.scalar(Int.self) ?? 0
    }
}
