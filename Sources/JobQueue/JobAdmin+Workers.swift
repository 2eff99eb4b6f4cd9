import Foundation
import Postgres

extension JobAdmin {
    /// A worker process as it last reported itself (`job_workers`).
    public struct WorkerReport: Sendable {
        /// `host:pid:random`, as in `jobs.locked_by`.
        public let id: String
        /// `queue:slots`, comma-separated, as the worker was started with.
        public let queues: String
        /// The queues alone, without their slot counts.
        public var queueNames: [String] { queues.split(separator: ",").compactMap { $0.split(separator: ":").first.map(String.init) } }
        /// Jobs it was running at its last report.
        public let running: Int
        public let startedAt: Date
        public let seenAt: Date
        /// Seconds since its last report.
        public let silentFor: TimeInterval

        /// Reports come every reaper round (about 5 s); three missed ones mean it is gone or
        /// cannot reach the database.
        public var isLive: Bool { silentFor < 20 }
    }

    /// Every worker that reported in the last day, live ones first.
    public static func workers(on connection: Connection) throws -> [WorkerReport] {
        try connection.sql("""
            SELECT id, queues, running, started_at, seen_at, extract(epoch FROM now() - seen_at)::float8
            FROM job_workers ORDER BY seen_at < now() - interval '20 seconds', id
            """).rows.map {
            WorkerReport(id: try $0.decode(at: 0), queues: try $0.decode(at: 1), running: try $0.decode(at: 2),
                         startedAt: try $0.decode(at: 3), seenAt: try $0.decode(at: 4), silentFor: try $0.decode(at: 5))
        }
    }

    /// This worker's report (and the end of reports silent for an hour: a killed worker's row
    /// stays long enough to be seen, and its `silent` count in `/metrics` clears after that),
    /// in one statement.
    static func report(workerID: String, queues: String, running: Int, on connection: Connection) throws {
        try connection.sql("""
            WITH gone AS (DELETE FROM job_workers WHERE seen_at < now() - interval '1 hour')
            INSERT INTO job_workers (id, queues, running) VALUES (\(workerID), \(queues), \(running))
            ON CONFLICT (id) DO UPDATE SET running = excluded.running, seen_at = now()
            """)
    }

    /// A worker that stops cleanly takes its row away.
    static func signOff(workerID: String, on connection: Connection) throws {
        try connection.sql("DELETE FROM job_workers WHERE id = \(workerID)")
    }
}
