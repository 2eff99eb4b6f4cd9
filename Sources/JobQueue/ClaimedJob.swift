import Foundation
import Postgres

/// A job this worker has claimed: its row as the claim statement returned it.
struct ClaimedJob: Sendable {
    let id: Int64
    let queue: String
    let kind: String
    let args: Data
    let attempt: Int
    let maxAttempts: Int
    let timeoutSeconds: Int
    let createdAt: Date

    init(row: Row) throws {
        id = try row.decode(at: 0)
        queue = try row.decode(at: 1)
        kind = try row.decode(at: 2)
        args = Data(try row.decode(String.self, at: 3).utf8)
        attempt = try row.decode(at: 4)
        maxAttempts = try row.decode(at: 5)
        timeoutSeconds = try row.decode(at: 6)
        createdAt = try row.decode(at: 7)
    }

    /// Claims up to `limit` due jobs of one queue in one statement. Per queue so that the
    /// partial index `(queue, priority, run_at, id)` hands rows over in order and LIMIT stops
    /// the scan early, however many jobs wait.
    static func claim(queue: String, limit: Int, workerID: String, leaseMargin: TimeInterval,
                      on connection: Connection) throws -> [ClaimedJob] {
        guard limit > 0 else { return [] }
        // Planned once per connection (its generic plan): the due jobs in the claim index's
        // order, then each updated by its key. Joined to the due jobs instead, the generic plan
        // took `LIMIT $n` for a tenth of them and joined the update to a scan of the table.
        let claim: PostgresQuery = """
            UPDATE jobs j
            SET state = 'running', attempt = j.attempt + 1, locked_by = \(workerID), attempted_at = now(),
                locked_until = now() + make_interval(secs => j.timeout_seconds + \(leaseMargin)::float8)
            WHERE j.id = ANY(ARRAY(
                SELECT id FROM jobs
                WHERE state = 'available' AND queue = \(queue) AND run_at <= now()
                  -- A paused queue gives nothing (one look at a tiny table, once per claim).
                  AND NOT EXISTS (SELECT 1 FROM job_queue_pauses p WHERE p.queue = \(queue))
                ORDER BY priority, run_at, id
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED))
            RETURNING j.id, j.queue, j.kind, j.args::text, j.attempt, j.max_attempts, j.timeout_seconds, j.created_at
            """
        // One round trip, one implicit transaction (as the completer's flush): the plan setting
        // and the claim.
        let result = try connection.pipeline([.genericPlans, claim])[1]
        return try result.rows.map(ClaimedJob.init(row:))
    }
}
