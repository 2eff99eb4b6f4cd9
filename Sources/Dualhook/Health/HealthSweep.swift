import Foundation
import JobQueue
import Postgres

/// The `health-poll` sweep: queues a poll, spread over the next minutes, for every live
/// connection not checked within the interval (`DUALHOOK_HEALTH_INTERVAL_SECONDS`, 6 h).
public struct HealthSweep: JobKind {
    public struct Args: Codable, Sendable {
        var intervalSeconds: Double
        public init(intervalSeconds: Double) { self.intervalSeconds = intervalSeconds }
    }
    public static let kind = "sweep.health_poll"
    public static let queue = "maintenance"
    public static let timeout: TimeInterval = 300
    public static let retryPolicy = RetryPolicy.fixed([60, 300])
    static let batch = 5000

    public init() {}

    public func perform(_ args: Args, context: JobContext) throws {
        var after = ""
        var queued = 0
        while !context.isCancelled {
            let ids = try context.database.withConnection { connection in
                try connection.sql("""
                    SELECT id FROM connections
                    WHERE status = 'active' AND id > \(after)
                      AND (health_checked_at IS NULL OR health_checked_at < now() - make_interval(secs => \(args.intervalSeconds)))
                    ORDER BY id LIMIT \(HealthSweep.batch)
                    """).rows.map { try $0.decode(String.self, at: 0) }
            }
            guard let last = ids.last else { break }
            queued += try context.database.withConnection { connection in
                try JobQueue.enqueueMany(PollHealth.self, ids.map { .init(connectionId: $0) }, uniqueKeys: ids.map(PollHealth.uniqueKey),
                                         options: JobOptions(spread: min(600, args.intervalSeconds / 2)), on: connection)
            }
            after = last
            if ids.count < HealthSweep.batch { break }
        }
        if queued > 0 { context.logger.info("health polls queued", ["count": queued]) }
    }

    /// Every ten minutes; each connection is polled once per interval.
    public static func periodic(intervalSeconds: Double) -> PeriodicJob {
        PeriodicJob.sweep(HealthSweep.self, name: "health-poll", every: 600, args: Args(intervalSeconds: intervalSeconds))
    }
}
