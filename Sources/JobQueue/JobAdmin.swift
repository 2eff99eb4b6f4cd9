import Foundation
import Postgres

/// Operator queries behind `dualhook jobs …`.
public enum JobAdmin {
    public struct QueueStats: Codable, Sendable {
        public let queue: String
        public let available: Int
        public let scheduled: Int
        public let running: Int
        public let completed: Int
        public let discarded: Int
        public let cancelled: Int
        /// Since when workers have not claimed from this queue (`pause`); nil when they do.
        public var pausedAt: Date?

        /// The counts by the states `jobs list` takes (`listStates`): `available` is due now,
        /// `scheduled` later, as `jobs stats` and `/metrics` show them.
        public var listed: [(state: String, count: Int)] {
            zip(JobAdmin.listStates, [available, scheduled, running, completed, discarded, cancelled]).map { ($0, $1) }
        }

        /// Jobs in `state` (`available` counts the scheduled ones too).
        public func count(_ state: JobState) -> Int {
            switch state {
            case .available: available + scheduled
            case .running: running
            case .completed: completed
            case .discarded: discarded
            case .cancelled: cancelled
            }
        }
    }

    public struct JobSummary: Codable, Sendable {
        public let id: Int64
        public let queue: String
        public let kind: String
        public let state: String
        public let attempt: Int
        public let maxAttempts: Int
        public let runAt: Date
        public let createdAt: Date
        public let lastError: String?
    }

    /// Jobs by queue and state, from the engine's roll-ups (`JobCounts`), never a count of
    /// the whole table, with each paused queue's pause (a paused queue is listed even when it
    /// has no jobs, so a pause never goes unseen).
    public static func stats(on connection: Connection) throws -> [QueueStats] {
        var stats = try JobCounts.read(on: connection)
        let paused = try pausedQueues(on: connection)
        for index in stats.indices { stats[index].pausedAt = paused[stats[index].queue] }
        for (queue, at) in paused where !stats.contains(where: { $0.queue == queue }) {
            stats.append(QueueStats(queue: queue, available: 0, scheduled: 0, running: 0, completed: 0, discarded: 0,
                                    cancelled: 0, pausedAt: at))
        }
        return stats.sorted { $0.queue < $1.queue }
    }

    /// Jobs completed per minute over the last `minutes`, oldest first, by queue (folded every
    /// few seconds, so the current minute fills as it goes).
    public static func throughput(minutes: Int = 60, on connection: Connection) throws -> [String: [Int]] {
        try JobCounts.throughput(minutes: minutes, on: connection)
    }

    /// The states `list` filters by: the stored ones, with `available` split as `stats` splits
    /// it into due now (`available`) and later (`scheduled`).
    public static let listStates = ["available", "scheduled", "running", "completed", "discarded", "cancelled"]

    /// SQL: a job's state as `list` filters by it and shows it: a waiting job not yet due is
    /// `scheduled`, not `available`.
    static let listedState = "CASE WHEN state = 'available' AND run_at > now() THEN 'scheduled' ELSE state END"

    public static func list(state: String?, kind: String?, queue: String? = nil, limit: Int,
                            on connection: Connection) throws -> [JobSummary] {
        try list(Filter(queue: queue, kind: kind, state: state), limit: limit, on: connection)
    }

    /// One job with its arguments and every failed attempt, for `dualhook jobs show`.
    public struct JobDetail: Sendable {
        public let summary: JobSummary
        public let uniqueKey: String?
        public let lockedBy: String?
        public let finalizedAt: Date?
        /// The arguments as stored (JSON text); callers decide what of them to show.
        public let argsJSON: String
        /// `[{attempt, at, error, worker, retry_at}]` as JSON text.
        public let errorsJSON: String
    }

    public static func detail(id: Int64, on connection: Connection) throws -> JobDetail? {
        try connection.sql("""
            SELECT id, queue, kind, \(unescaped: listedState), attempt, max_attempts, run_at, created_at, last_error,
                   unique_key, locked_by, finalized_at, args::text, errors::text
            FROM jobs WHERE id = \(id)
            """).first.map {
            JobDetail(summary: JobSummary(id: try $0.decode(at: 0), queue: try $0.decode(at: 1), kind: try $0.decode(at: 2),
                                          state: try $0.decode(at: 3), attempt: try $0.decode(at: 4), maxAttempts: try $0.decode(at: 5),
                                          runAt: try $0.decode(at: 6), createdAt: try $0.decode(at: 7), lastError: try $0.decode(at: 8)),
                      uniqueKey: try $0.decode(at: 9), lockedBy: try $0.decode(at: 10), finalizedAt: try $0.decode(at: 11),
                      argsJSON: try $0.decode(at: 12), errorsJSON: try $0.decode(at: 13))
        }
    }

    public enum ChangeResult: Equatable, Sendable {
        case changed
        case notFound
        case wrongState(String)
        /// Its unique key is held by this job, waiting or running: two live jobs of one key
        /// cannot be, so it cannot run again until that one ends.
        case keyHeld(by: Int64)
    }

    /// Brings every waiting job of a kind forward to now and wakes their queues; returns how
    /// many moved. For operators (and tests) who do not want to wait for a scheduled retry or poll.
    @discardableResult
    public static func runNow(kind: String, on connection: Connection) throws -> Int {
        let queues = try connection.sql("""
            UPDATE jobs SET run_at = now() WHERE kind = \(kind) AND state = 'available' AND run_at > now() RETURNING queue
            """).rows.map { try $0.decode(String.self, at: 0) }
        for queue in Set(queues) { WakeUps.shared.wake(queue, after: connection) }
        return queues.count
    }

    /// Runs a finished (discarded, cancelled, completed) or waiting job again now, with one
    /// more attempt allowed if its attempts were spent.
    public static func retry(id: Int64, on connection: Connection) throws -> ChangeResult {
        try connection.transaction { tx in
            guard let row = try tx.sql("SELECT state, unique_key FROM jobs WHERE id = \(id) FOR UPDATE").first else {
                return .notFound
            }
            let state: String = try row.decode(at: 0)
            guard state != "running" else { return .wrongState(state) }
            if state != "available", let key = try row.decode(String?.self, at: 1),
               let live = try tx.sql("""
                   SELECT id FROM jobs WHERE unique_key = \(key) AND state IN ('available', 'running') AND id <> \(id) LIMIT 1
                   """).scalar(Int64.self) {
                return .keyHeld(by: live)
            }
            for queue in try JobTransitions.retry(matching: "id = \(id)", on: tx) {
                WakeUps.shared.wake(queue, after: tx)
            }
            return .changed
        }
    }

    /// Cancels a job that has not finished. A running job's row is marked at once: its attempt
    /// is not retried, and completes the job only if it finishes its work (`JobTransitions`).
    public static func cancel(id: Int64, on connection: Connection) throws -> ChangeResult {
        try connection.transaction { tx in
            guard let state = try tx.sql("SELECT state FROM jobs WHERE id = \(id) FOR UPDATE").scalar(String.self) else {
                return .notFound
            }
            guard state == "available" || state == "running" else { return .wrongState(state) }
            _ = try JobTransitions.cancel(matching: "id = \(id)", on: tx)
            return .changed
        }
    }
}
