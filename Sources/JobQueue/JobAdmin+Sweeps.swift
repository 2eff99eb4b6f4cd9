import Foundation
import Postgres

extension JobAdmin {
    /// A sweep's last run as the console shows it.
    public struct SweepRun: Sendable {
        public let name: String
        public let interval: TimeInterval
        /// The start of the last period a scheduler enqueued, and its job's state now.
        public let lastPeriod: Date?
        public let lastState: String?
        public let lastFinishedAt: Date?
        public var nextRun: Date? { lastPeriod.map { $0.addingTimeInterval(interval) } }
    }

    /// The last period of each sweep (from `job_periods`, the schedulers' own record) and its job.
    public static func sweepRuns(_ sweeps: [PeriodicJob], on connection: Connection) throws -> [SweepRun] {
        var last: [String: (Date, String?, Date?)] = [:]
        for row in try connection.sql("""
            SELECT DISTINCT ON (p.name) p.name, p.period_start, j.state, j.finalized_at
            FROM job_periods p LEFT JOIN jobs j ON j.id = p.job_id
            WHERE p.name = ANY(\(sweeps.map(\.name))::text[])
            ORDER BY p.name, p.period_start DESC
            """).rows {
            last[try row.decode(at: 0)] = (try row.decode(at: 1), try row.decode(at: 2), try row.decode(at: 3))
        }
        return sweeps.map { sweep in
            let run = last[sweep.name]
            return SweepRun(name: sweep.name, interval: sweep.interval, lastPeriod: run?.0, lastState: run?.1, lastFinishedAt: run?.2)
        }
    }

    /// Enqueues the sweep now, outside its schedule (unique per call); answers the job's id.
    public static func runSweepNow(_ sweep: PeriodicJob, on connection: Connection) throws -> Int64? {
        try sweep.enqueue(connection, "sweep:\(sweep.name):manual:\(UUID().uuidString.prefix(8))")
    }
}
