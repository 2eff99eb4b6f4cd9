import Foundation
import Postgres

/// Returns `running` jobs whose lease ran out — their worker died or lost the database — to
/// `available` with the kind's backoff, or discards them when their attempts are spent. Any
/// worker may run it; `SKIP LOCKED` keeps two reapers off the same rows.
enum Reaper {
    static func reap(registry: JobRegistry, pool: ConnectionPool, limit: Int = 1000) throws -> Int {
        try pool.transaction { tx in
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
                let kind: String = try row.decode(at: 1)
                let attempt: Int = try row.decode(at: 2)
                ids.append(try row.decode(at: 0))
                delays.append((registry.entry(kind)?.retryPolicy ?? .standard).delay(afterAttempt: attempt))
            }
            try tx.sql("""
                UPDATE jobs j SET
                    state = CASE WHEN j.attempt >= j.max_attempts THEN 'discarded' ELSE 'available' END,
                    run_at = now() + make_interval(secs => r.delay),
                    finalized_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
                    locked_until = NULL,
                    last_error = 'lease expired: worker ' || coalesce(j.locked_by, '?') || ' stopped without finishing the job',
                    errors = j.errors || jsonb_build_array(jsonb_build_object(
                        'attempt', j.attempt, 'at', now(), 'worker', j.locked_by,
                        'retry_at', CASE WHEN j.attempt < j.max_attempts THEN now() + make_interval(secs => r.delay) END,
                        'error', 'lease expired: worker ' || coalesce(j.locked_by, '?') || ' stopped without finishing the job'))
                FROM unnest(\(ids)::bigint[], \(delays)::float8[]) AS r(id, delay)
                WHERE j.id = r.id
                """)
            return ids.count
        }
    }
}
