import Foundation
import JobQueue
import Postgres

/// The `prune-api` sweep: forgets rate-limit windows that ended and idempotency keys past
/// their one-hour replay window.
public struct PruneAPIState: JobKind {
    public struct Args: Codable, Sendable {
        public init() {}
    }
    public static let kind = "sweep.prune_api"
    public static let queue = "maintenance"
    public static let timeout: TimeInterval = 120
    public static let retryPolicy = RetryPolicy.fixed([60, 300])

    public init() {}

    public func perform(_ args: Args, context: JobContext) throws {
        let (windows, keys) = try context.database.withConnection { connection in
            (try connection.sql("DELETE FROM rate_limit_windows WHERE window_start < now() - interval '2 hours'").affectedRows,
             try connection.sql("""
                DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => \(Idempotency.window))
                """).affectedRows)
        }
        context.logger.info("pruned API state", ["rate_limit_windows": windows, "idempotency_keys": keys])
    }

    /// Every ten minutes.
    public static func periodic() -> PeriodicJob {
        PeriodicJob.sweep(PruneAPIState.self, name: "prune-api", every: 600, args: Args())
    }
}
