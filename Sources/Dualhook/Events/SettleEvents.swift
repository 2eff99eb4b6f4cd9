import Foundation
import JobQueue
import Postgres

/// The `settle-events` sweep: a delivery still `pending` whose job is gone (discarded by the
/// reaper after a worker died on the last attempt, or after errors before any attempt could be
/// logged) will not be tried again: it becomes `failed`, and a redelivery can still send it.
/// An enabled endpoint with held deliveries, or a disabled one with pending deliveries, gets a
/// sync job.
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
                try connection.sql("""
                    WITH lost AS (
                        SELECT d.event_id, d.endpoint_id FROM event_deliveries d
                        WHERE d.status = 'pending' AND d.event_created_at < now() - interval '10 minutes'
                          AND NOT job_live(ARRAY['deliver:' || d.event_id || ':' || d.endpoint_id,
                                                 'redeliver:' || d.event_id || ':' || d.endpoint_id,
                                                 'deliver:' || d.event_id, 'redeliver:' || d.event_id])
                        ORDER BY d.event_created_at LIMIT 500 FOR UPDATE SKIP LOCKED)
                    UPDATE event_deliveries d SET status = 'failed', next_attempt_at = NULL, updated_at = now()
                    FROM lost WHERE d.event_id = lost.event_id AND d.endpoint_id = lost.endpoint_id
                    """).affectedRows
            }
        }
        // Endpoints out of line with their status (an event written as the endpoint's status
        // changed, a delivery held as it was enabled): a sync job each brings them back.
        let outOfLine = try context.database.transaction { tx in
            let ids = try tx.sql("""
                SELECT p.id FROM event_endpoints p
                WHERE EXISTS (SELECT 1 FROM event_deliveries d
                              WHERE d.endpoint_id = p.id AND d.status = CASE WHEN p.status = 'enabled' THEN 'held' ELSE 'pending' END)
                """).rows.map { try $0.decode(String.self, at: 0) }
            for id in ids { try SyncEndpointDeliveries.enqueue(id, on: tx) }
            return ids.count
        }
        if outOfLine > 0 { context.logger.warning("event endpoints out of line with their status synced", ["count": outOfLine]) }
        if total > 0 { context.logger.warning("event deliveries whose job was lost marked failed", ["count": total]) }
    }

    /// Every five minutes.
    public static func periodic() -> PeriodicJob {
        PeriodicJob.sweep(SettleEvents.self, name: "settle-events", every: 300, args: Args())
    }
}
