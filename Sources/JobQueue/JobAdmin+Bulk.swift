import Foundation
import Postgres

extension JobAdmin {
    /// The jobs an operator picked by queue, kind, state (as `list` reads states) and an
    /// argument's value (`args->>name = value`, e.g. an account or a connection).
    public struct Filter: Sendable {
        public var queue: String?
        public var kind: String?
        public var state: String?
        public var argument: (name: String, value: String)?
        /// Only these jobs (a bulk action's batch).
        public var ids: [Int64]?
        /// Only jobs up to this id (those an operator saw counted).
        public var maxID: Int64?

        public init(queue: String? = nil, kind: String? = nil, state: String? = nil, argument: (name: String, value: String)? = nil) {
            self.queue = queue
            self.kind = kind
            self.state = state
            self.argument = argument
        }

        var sql: PostgresQuery {
            var filter: PostgresQuery = "true"
            switch state {
            case "available"?: filter = "\(filter) AND state = 'available' AND run_at <= now()"
            case "scheduled"?: filter = "\(filter) AND state = 'available' AND run_at > now()"
            // A running job holds a lease: the lease index (sql/025_lease_index.sql) finds it.
            case "running"?: filter = "\(filter) AND state = 'running' AND locked_until IS NOT NULL"
            case let state?: filter = "\(filter) AND state = \(state)"
            case nil: break
            }
            if let queue { filter = "\(filter) AND queue = \(queue)" }
            if let kind { filter = "\(filter) AND kind = \(kind)" }
            if let argument { filter = "\(filter) AND args->>\(argument.name) = \(argument.value)" }
            if let ids { filter = "\(filter) AND id = ANY(\(ids)::bigint[])" }
            if let maxID { filter = "\(filter) AND id <= \(maxID)" }
            return filter
        }
    }

    public static func list(_ filter: Filter, limit: Int, on connection: Connection) throws -> [JobSummary] {
        try connection.sql("""
            SELECT id, queue, kind, \(unescaped: JobAdmin.listedState), attempt, max_attempts, run_at, created_at, last_error
            FROM jobs WHERE \(filter.sql) ORDER BY id DESC LIMIT \(limit)
            """).rows.map {
            JobSummary(id: try $0.decode(at: 0), queue: try $0.decode(at: 1), kind: try $0.decode(at: 2),
                       state: try $0.decode(at: 3), attempt: try $0.decode(at: 4), maxAttempts: try $0.decode(at: 5),
                       runAt: try $0.decode(at: 6), createdAt: try $0.decode(at: 7), lastError: try $0.decode(at: 8))
        }
    }

    /// The newest job id now: a bulk action queued after the count leaves later jobs alone.
    public static func newestID(on connection: Connection) throws -> Int64 {
        try connection.sql("SELECT coalesce(max(id), 0) FROM jobs").scalar(Int64.self) ?? 0
    }

    /// How many jobs match: shown to the operator before a bulk action.
    public static func count(_ filter: Filter, on connection: Connection) throws -> Int {
        try connection.sql("SELECT count(*) FROM jobs WHERE \(filter.sql)").scalar(Int.self) ?? 0
    }

    /// How many matching jobs a bulk `retry` or `cancel` would change: those in the states it
    /// acts on (a completed job is neither retried nor cancelled), for the count an operator
    /// confirms.
    public static func count(_ filter: Filter, changedBy action: String, on connection: Connection) throws -> Int {
        let changed: PostgresQuery = action == "retry" ? retryable(filter) : "(\(filter.sql)) AND \(unescaped: cancellable)"
        return try connection.sql("SELECT count(*) FROM jobs WHERE \(changed)").scalar(Int.self) ?? 0
    }

    /// SQL: the jobs `cancelMatching` changes among those its filter matches.
    static let cancellable = "state IN ('available', 'running')"

    /// SQL: the jobs `retryMatching` runs again (see there).
    static func retryable(_ filter: Filter) -> PostgresQuery {
        """
        id IN (
            SELECT DISTINCT ON (coalesce(j.unique_key, j.id::text)) j.id FROM jobs j
            WHERE \(filter.sql) AND j.state IN ('discarded', 'cancelled', 'available')
              AND (j.unique_key IS NULL OR j.state = 'available' OR NOT EXISTS (
                  SELECT 1 FROM jobs l WHERE l.unique_key = j.unique_key AND l.state IN ('available', 'running')))
            ORDER BY coalesce(j.unique_key, j.id::text), j.id DESC)
        """
    }

    /// Runs every matching job that failed, was cancelled or waits again now (never a completed
    /// or running one: a bulk retry must not redo work that succeeded); answers how many. Of
    /// jobs sharing a unique key only the newest is retried, and none whose key a live job
    /// holds, so the statement cannot collide with the unique index.
    public static func retryMatching(_ filter: Filter, on connection: Connection) throws -> Int {
        let queues = try JobTransitions.retry(matching: retryable(filter), on: connection)
        for queue in Set(queues) { WakeUps.shared.wake(queue, after: connection) }
        return queues.count
    }

    /// Cancels every matching job that is waiting or running; answers how many.
    public static func cancelMatching(_ filter: Filter, on connection: Connection) throws -> Int {
        try JobTransitions.cancel(matching: filter.sql, on: connection)
    }

    /// Argument names whose values are never shown: jobs carry sealed codes and tokens.
    static let hiddenArgumentNames = ["token", "secret", "sealed", "password", "pin", "code"]

    /// Arguments with every secret-like value replaced by `[hidden]`: values under a
    /// secret-like name, and sealed values (`v1:<key id>:…`) wherever they are.
    public static func withoutSecrets(_ value: Any, name: String = "") -> Any {
        let lowered = name.lowercased()
        if hiddenArgumentNames.contains(where: lowered.contains) { return "[hidden]" }
        switch value {
        case let object as [String: Any]:
            return Dictionary(uniqueKeysWithValues: object.map { ($0.key, withoutSecrets($0.value, name: $0.key)) })
        case let array as [Any]:
            return array.map { withoutSecrets($0, name: name) }
        case let text as String where text.hasPrefix("v1:"):
            return "[hidden]"
        default:
            return value
        }
    }
}
