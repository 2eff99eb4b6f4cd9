import Foundation
import Postgres

/// Enqueuing, always inside the caller's transaction: a job exists exactly when the work that
/// asked for it committed. Idle workers are woken after the commit (`WakeUps`), never by a
/// `NOTIFY` inside the enqueuing transaction.
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
        let timeoutSeconds = Int(max(1, timeout.rounded(.up)))
        let result = try connection.sql("""
            INSERT INTO jobs (queue, kind, args, priority, run_at, max_attempts, timeout_seconds, unique_key)
            VALUES (\(queue), \(kind), \(argsJSON)::jsonb, \(priority),
                    COALESCE(\(options.runAt)::timestamptz, now() + make_interval(secs => \(options.delay ?? 0)::float8)),
                    \(maxAttempts), \(timeoutSeconds), \(options.uniqueKey))
            ON CONFLICT (unique_key) WHERE state IN ('available', 'running') DO NOTHING
            RETURNING id
            """)
        let id = try result.scalar(Int64.self)
        if id != nil && (options.runAt ?? .distantPast) <= Date() && (options.delay ?? 0) <= 0 {
            WakeUps.shared.wake(queue, after: connection)
        }
        return id
    }

    /// Wakes the queue's idle workers once `connection`'s work has committed (coalesced).
    public static func wake(_ queue: String, after connection: Connection) {
        WakeUps.shared.wake(queue, after: connection)
    }

    /// Brings the waiting (`available`) job with this unique key forward to now (plus `offset`
    /// seconds, which may be negative to order jobs made due together) and wakes its queue;
    /// false when there is none (it is running, finished, or was never queued).
    @discardableResult
    public static func runNow(uniqueKey: String, queue: String, offset: TimeInterval = 0, on connection: Connection) throws -> Bool {
        let moved = try connection.sql("""
            UPDATE jobs SET run_at = now() + make_interval(secs => \(offset)::float8)
            WHERE unique_key = \(uniqueKey) AND state = 'available' RETURNING id
            """).rowCount > 0
        if moved { wake(queue, after: connection) }
        return moved
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
        let timeoutSeconds = Int(max(1, timeout.rounded(.up)))
        let result = try connection.sql("""
            WITH inserted AS (
                INSERT INTO jobs (queue, kind, args, priority, run_at, max_attempts, timeout_seconds, unique_key)
                SELECT \(queue), \(kind), a, \(priority),
                       COALESCE(\(options.runAt)::timestamptz, now())
                           + make_interval(secs => \(options.delay ?? 0)::float8 + random() * \(options.spread ?? 0)::float8),
                       \(maxAttempts), \(timeoutSeconds), NULLIF(k, '')
                FROM unnest(\(argsJSON)::jsonb[], \(keys)::text[]) AS t(a, k)
                ON CONFLICT (unique_key) WHERE state IN ('available', 'running') DO NOTHING
                RETURNING 1)
            SELECT count(*) FROM inserted
            """)
        let inserted = try result.scalar(Int.self) ?? 0
        if inserted > 0 { wake(queue, after: connection) }
        return inserted
    }
}

extension JobQueue {
    /// An enqueue to fold into a statement of the caller's own, so that writing a row and
    /// queueing its job is one round trip: an `INSERT INTO jobs … SELECT … FROM <source>` for
    /// use as a CTE, its values bound wherever the query is interpolated.
    public struct Fragment: Sendable {
        /// `INSERT INTO jobs … RETURNING id`.
        public let insert: PostgresQuery
        /// The queue to `wake` after the statement's commit.
        public let queue: String
    }

    /// `argsExpression` is SQL over `source`'s columns (for example
    /// `jsonb_build_object('sessionId', session.id)`); it is the caller's code, never input.
    public static func fragment<K: JobKind>(_ kind: K.Type, argsExpression: String, from source: String) -> Fragment {
        let timeout = Int(max(1, K.timeout.rounded(.up)))
        return Fragment(insert: """
            INSERT INTO jobs (queue, kind, args, max_attempts, timeout_seconds)
            SELECT \(K.queue), \(K.kind), \(unescaped: argsExpression), \(K.retryPolicy.maxAttempts), \(timeout)
            FROM \(unescaped: source) RETURNING id
            """, queue: K.queue)
    }
}
