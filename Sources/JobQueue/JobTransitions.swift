import Foundation
import Postgres

/// Every statement that moves a job from one `JobState` to another, in one place: the rest of
/// the engine decides when a job moves, this type is how (River's driver keeps its job SQL the
/// same way). No other file writes `jobs.state`.
///
///     available ─claim─▶ running ─complete─▶ completed
///                          ├─fail, attempts left─▶ available at the retry's time
///                          ├─fail, spent or permanent─▶ discarded
///                          ├─snooze─▶ available later, the attempt not counted
///                          ├─hand back (shutdown)─▶ available now, the attempt not counted
///                          └─reap (the lease ran out)─▶ available at the backoff, or discarded
///     discarded, cancelled, completed, available ─retry (operator)─▶ available now
///     available, running ─cancel (operator)─▶ cancelled
///     cancelled while running ─the attempt completes─▶ completed
///
/// What a worker does to a running job holds only while the job is still that worker's
/// attempt (`id`, `attempt`, `locked_by`, `state = 'running'`): a job reaped or cancelled
/// meanwhile is left as it is, and the late outcome is dropped. One outcome is kept: an attempt
/// that was running when an operator cancelled it and then finished its work completes the job
/// (as River's cancel does), since that work happened (a delivery was received, a token
/// stored) and a job shown `cancelled` beside it would say it did not.
enum JobTransitions {
    /// How a failed attempt ends.
    enum Failure: Sendable {
        /// Back to `available`, run again after this many seconds.
        case retry(after: TimeInterval)
        /// To `discarded`: attempts spent, or an error that no retry can cure.
        case discard
    }

    /// available → running: up to `limit` due jobs of one queue, in one statement. Per queue so
    /// that the partial index `(queue, priority, run_at, id)` hands rows over in order and LIMIT
    /// stops the scan early, however many jobs wait.
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
            RETURNING j.id, j.queue, j.kind, j.args::text, j.attempt, j.max_attempts, j.timeout_seconds, j.created_at,
                      greatest(extract(epoch FROM now() - j.run_at), 0)::float8
            """
        // One round trip, one implicit transaction (as the completer's flush): the plan setting
        // and the claim.
        let result = try connection.pipeline([.genericPlans, claim])[1]
        return try result.rows.map(ClaimedJob.init(row:))
    }

    /// running → completed, for a batch of this worker's attempts.
    ///
    /// The plan is the generic one from the first flush on (sent with the update, in one
    /// round trip and one transaction). A plan made for the batch's values
    /// trusts the statistics, and those often saw no job running (an idle moment, or right
    /// after a bulk enqueue): it then expects one running row, scans the whole table once per
    /// flush and joins the batch to it (78–962 ms for one flush of up to 1,000 jobs in
    /// `ops/bench/queue`, the first five flushes of every connection, about a fifth of the
    /// drain). The generic plan walks the batch and finds each job by its key.
    static func complete(ids: [Int64], attempts: [Int], workerID: String, on connection: Connection) throws {
        try connection.pipeline([.genericPlans, completing(ids: ids, attempts: attempts, workerIDs: Array(repeating: workerID, count: ids.count))])
    }

    /// running → completed, each job only while the attempt is still its worker's running one
    /// (or was, when an operator cancelled it): the completer's batches, and a handler's own
    /// transaction (`JobQueue.completing`).
    ///
    /// A cancelled job whose `attempt` and `locked_by` are still this attempt's was cancelled
    /// while it ran: `cancel` keeps `locked_by` only then (a failed or reaped attempt leaves
    /// the waiting job with its worker's name), and `retry` clears it.
    static func completing(ids: [Int64], attempts: [Int], workerIDs: [String]) -> PostgresQuery {
        """
        UPDATE jobs j SET state = 'completed', finalized_at = now(), locked_until = NULL
        FROM unnest(\(ids)::bigint[], \(attempts)::int[], \(workerIDs)::text[]) AS done(id, attempt, worker)
        WHERE j.id = done.id AND j.attempt = done.attempt AND j.locked_by = done.worker AND j.state IN ('running', 'cancelled')
        """
    }

    /// running → available (a retry) or discarded, with the error kept in `errors`.
    /// False when the attempt is no longer this worker's to end (its lease ran out and the job
    /// was returned, or it was cancelled): nothing is written.
    @discardableResult
    static func fail(id: Int64, attempt: Int, workerID: String, _ failure: Failure, error: String,
                     on connection: Connection) throws -> Bool {
        let retrying: Bool
        let delay: TimeInterval
        switch failure {
        case .retry(let after): (retrying, delay) = (true, after)
        case .discard: (retrying, delay) = (false, 0)
        }
        let state = retrying ? JobState.available : JobState.discarded
        return try connection.sql("""
            UPDATE jobs SET
                state = \(state.rawValue),
                run_at = CASE WHEN \(retrying)::boolean THEN now() + make_interval(secs => \(delay)::float8) ELSE run_at END,
                finalized_at = CASE WHEN \(retrying)::boolean THEN NULL ELSE now() END,
                locked_until = NULL,
                last_error = \(error),
                errors = errors || jsonb_build_array(jsonb_build_object(
                    'attempt', attempt, 'at', now(), 'error', \(error)::text, 'worker', locked_by,
                    'retry_at', CASE WHEN \(retrying)::boolean THEN now() + make_interval(secs => \(delay)::float8) END))
            WHERE id = \(id) AND attempt = \(attempt) AND locked_by = \(workerID) AND state = 'running'
            """).affectedRows > 0
    }

    /// running → available after its own delay, the attempt not counted: jobs of this worker
    /// that stepped aside, in one statement (the jobs a batch set aside together).
    static func snooze(ids: [Int64], attempts: [Int], delays: [TimeInterval], workerID: String, on connection: Connection) throws {
        try connection.sql("""
            UPDATE jobs j SET state = 'available', run_at = now() + make_interval(secs => s.delay), attempt = j.attempt - 1,
                locked_until = NULL, locked_by = NULL
            FROM unnest(\(ids)::bigint[], \(attempts)::int[], \(delays)::float8[]) AS s(id, attempt, delay)
            WHERE j.id = ANY(\(ids)::bigint[]) AND j.id = s.id AND j.attempt = s.attempt AND j.locked_by = \(workerID)
              AND j.state = 'running'
            """)
    }

    /// running → available now, the attempt not counted: jobs this worker claimed and is
    /// stopping without finishing. A non-empty `note` (an interrupted job) joins `errors`.
    static func handBack(ids: [Int64], workerID: String, note: String, on connection: Connection) throws {
        try connection.sql("""
            UPDATE jobs SET state = 'available', attempt = attempt - 1, locked_by = NULL,
                locked_until = NULL, attempted_at = NULL, run_at = now(),
                last_error = CASE WHEN \(note) = '' THEN last_error ELSE \(note) END,
                errors = CASE WHEN \(note) = '' THEN errors ELSE errors || jsonb_build_array(jsonb_build_object(
                    'attempt', attempt, 'at', now(), 'error', \(note)::text, 'worker', locked_by)) END
            WHERE id = ANY(\(ids)::bigint[]) AND locked_by = \(workerID) AND state = 'running'
            """)
    }

    /// running, its lease run out → available after `delay(kind, attempt)`, or discarded when
    /// its attempts are spent: up to `limit` jobs, locked with `SKIP LOCKED` so that two reapers
    /// never take the same row. Answers how many.
    static func reap(limit: Int, delay: (String, Int) -> TimeInterval, on tx: Connection) throws -> Int {
        let expired = try tx.sql("""
            SELECT id, kind, attempt FROM jobs
            WHERE state = 'running' AND locked_until < now()
            ORDER BY locked_until
            LIMIT \(limit)
            FOR UPDATE SKIP LOCKED
            """)
        guard !expired.isEmpty else { return 0 }
        var ids: [Int64] = []
        var delays: [Double] = []
        for row in expired.rows {
            ids.append(try row.decode(at: 0))
            delays.append(delay(try row.decode(at: 1), try row.decode(at: 2)))
        }
        try tx.sql("""
            UPDATE jobs j SET
                state = CASE WHEN j.attempt >= j.max_attempts THEN 'discarded' ELSE 'available' END,
                run_at = now() + make_interval(secs => r.delay),
                finalized_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
                locked_until = NULL,
                last_error = 'lease expired: worker ' || coalesce(j.locked_by, '?') || ' did not report the job''s end before its lease ran out (it stopped, or lost the database)',
                errors = j.errors || jsonb_build_array(jsonb_build_object(
                    'attempt', j.attempt, 'at', now(), 'worker', j.locked_by,
                    'retry_at', CASE WHEN j.attempt < j.max_attempts THEN now() + make_interval(secs => r.delay) END,
                    'error', 'lease expired: worker ' || coalesce(j.locked_by, '?') || ' did not report the job''s end before its lease ran out (it stopped, or lost the database)'))
            FROM unnest(\(ids)::bigint[], \(delays)::float8[]) AS r(id, delay)
            WHERE j.id = r.id
            """)
        return ids.count
    }

    /// → available now, with one more attempt allowed if its attempts were spent: the jobs
    /// `matching` selects (the caller says which states may be retried). Answers their queues,
    /// one per job, to be woken.
    static func retry(matching: PostgresQuery, on connection: Connection) throws -> [String] {
        try connection.sql("""
            UPDATE jobs SET state = 'available', run_at = now(), finalized_at = NULL, locked_until = NULL, locked_by = NULL,
                max_attempts = GREATEST(max_attempts, attempt + 1)
            WHERE \(matching)
            RETURNING queue
            """).rows.map { try $0.decode(String.self, at: 0) }
    }

    /// available or running → cancelled, by an operator: the jobs `matching` selects. A running
    /// job's worker then finds it no longer its attempt: a retry or discard it would write is
    /// dropped, and so the job is not run again; an attempt that finishes its work completes it
    /// (`completing`). Answers how many.
    static func cancel(matching: PostgresQuery, on connection: Connection) throws -> Int {
        try connection.sql("""
            UPDATE jobs SET state = 'cancelled', finalized_at = now(), locked_until = NULL,
                -- Kept only for a running job, whose attempt may still complete it (`completing`):
                -- a waiting job keeps its last attempt's worker too, and that attempt has ended.
                locked_by = CASE WHEN state = 'running' THEN locked_by END,
                errors = errors || jsonb_build_array(jsonb_build_object('attempt', attempt, 'at', now(), 'error', 'cancelled by an operator'))
            WHERE (\(matching)) AND \(unescaped: JobAdmin.cancellable)
            """).affectedRows
    }
}
