import Foundation
import JobQueue
import Postgres

/// The `settle-events` sweep: an event still `pending` whose delivery job is gone (discarded
/// by the reaper after a worker died on the last attempt, or after errors before any attempt
/// could be logged) will not be tried again: it becomes `failed`, and a redelivery can still
/// send it.
public struct SettleEvents: JobKind {
    public struct Args: Codable, Sendable {
        public init() {}
    }
    public static let kind = "sweep.settle_events"
    public static let queue = "maintenance"
    public static let timeout: TimeInterval = 120
    public static let retryPolicy = RetryPolicy.fixed([30, 120])

    public init() {}

    public func perform(_ args: Args, context: JobContext) throws {
        let total = try context.inBatches(of: 500) {
            try context.database.withConnection { connection in
                try connection.query("""
                    WITH lost AS (
                        SELECT e.id FROM events e
                        WHERE e.delivery_status = 'pending' AND e.created_at < now() - interval '10 minutes'
                          AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.unique_key IN ('deliver:' || e.id, 'redeliver:' || e.id)
                                                                  AND j.state IN ('available', 'running'))
                        ORDER BY e.created_at LIMIT 500 FOR UPDATE SKIP LOCKED)
                    UPDATE events e SET delivery_status = 'failed', next_attempt_at = NULL FROM lost WHERE e.id = lost.id
                    """).affectedRows
            }
        }
        if total > 0 { context.logger.warning("events whose delivery job was lost marked failed", ["count": total]) }
    }

    /// Every five minutes.
    public static func periodic() -> PeriodicJob {
        PeriodicJob.sweep(SettleEvents.self, name: "settle-events", every: 300, args: Args())
    }
}
