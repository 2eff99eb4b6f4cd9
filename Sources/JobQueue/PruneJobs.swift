import Foundation
import Postgres

/// The `prune` sweep: deletes completed jobs after 24 h and discarded or cancelled ones after
/// 7 days, in batches so no statement holds locks for long, and forgets old scheduler periods.
public struct PruneJobs: JobKind {
    public struct Args: Codable, Sendable {
        public init() {}
    }
    public static let kind = "sweep.prune"
    public static let queue = "maintenance"
    public static let timeout: TimeInterval = 300
    public static let retryPolicy = RetryPolicy.fixed([60, 300])

    public var completedRetention: TimeInterval
    public var discardedRetention: TimeInterval
    public var batchSize: Int

    public init(completedRetention: TimeInterval = 86_400, discardedRetention: TimeInterval = 7 * 86_400, batchSize: Int = 5000) {
        self.completedRetention = completedRetention
        self.discardedRetention = discardedRetention
        self.batchSize = batchSize
    }

    public func perform(_ args: Args, context: JobContext) throws {
        var deleted = 0
        for (states, age) in [(["completed"], completedRetention), (["discarded", "cancelled"], discardedRetention)] {
            deleted += try context.inBatches(of: batchSize) {
                try context.database.withConnection { connection in
                    try connection.sql("""
                        DELETE FROM jobs WHERE id IN (
                            SELECT id FROM jobs
                            WHERE finalized_at < now() - make_interval(secs => \(age)) AND state = ANY(\(states)::text[])
                            LIMIT \(batchSize))
                        """).affectedRows
                }
            }
        }
        try context.database.withConnection { connection in
            try connection.sql("DELETE FROM job_periods WHERE period_start < now() - interval '7 days'")
            try connection.sql("DELETE FROM job_throughput WHERE minute < now() - interval '7 days'")
        }
        context.logger.info("pruned finished jobs", ["deleted": deleted])
    }

    /// Hourly.
    public static func periodic() -> PeriodicJob {
        PeriodicJob.sweep(PruneJobs.self, name: "prune", every: 3600, args: Args())
    }
}
