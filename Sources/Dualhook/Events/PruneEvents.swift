import Foundation
import JobQueue

/// The `prune-events` sweep (hourly): events older than the retention
/// (`DUALHOOK_EVENT_RETENTION_DAYS`, default 30) are deleted with their deliveries, and
/// attempts older than it too, in batches. A held delivery older than the retention goes with
/// its event.
public struct PruneEvents: JobKind {
    public struct Args: Codable, Sendable {
        public init() {}
    }
    public static let kind = "sweep.prune_events"
    public static let queue = "maintenance"
    public static let timeout: TimeInterval = 300
    public static let retryPolicy = RetryPolicy.fixed([30, 120])
    public static let defaultRetentionDays = 30

    let retentionDays: Int

    public init(retentionDays: Int = PruneEvents.defaultRetentionDays) { self.retentionDays = retentionDays }

    public func perform(_ args: Args, context: JobContext) throws {
        let days = retentionDays
        let attempts = try context.inBatches(of: 1000) {
            try context.database.withConnection {
                try $0.sql("""
                    DELETE FROM event_attempts WHERE id IN (
                        SELECT id FROM event_attempts WHERE attempted_at < now() - make_interval(days => \(days)) LIMIT 1000)
                    """).affectedRows
            }
        }
        let events = try context.inBatches(of: 1000) {
            try context.database.withConnection {
                try $0.sql("""
                    DELETE FROM events WHERE id IN (
                        SELECT id FROM events WHERE created_at < now() - make_interval(days => \(days))
                        ORDER BY created_at LIMIT 1000)
                    """).affectedRows
            }
        }
        if events + attempts > 0 {
            context.logger.info("events past their retention pruned", ["events": events, "attempts": attempts, "days": days])
        }
    }

    public static func periodic() -> PeriodicJob {
        PeriodicJob.sweep(PruneEvents.self, name: "prune-events", every: 3600, args: Args())
    }
}
