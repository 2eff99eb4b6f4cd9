import Foundation
import Postgres

/// Jobs by queue and state as roll-ups (`sql/011_job_kinds_and_counts.sql`): triggers append
/// each statement's net change to `job_count_deltas`, and `fold` moves them into `job_counts`.
/// Reading the counts sums two small tables instead of counting `jobs`, whose finished rows
/// run to millions.
enum JobCounts {
    /// Folds the deltas written so far into the totals. Any worker may run it; one that finds
    /// another folding skips its turn.
    static func fold(pool: ConnectionPool) throws {
        try pool.transaction { tx in
            guard try tx.sql("SELECT pg_try_advisory_xact_lock(hashtextextended('dualhook:job_counts', 0))").scalar(Bool.self) == true else {
                return
            }
            try tx.sql("""
                WITH folded AS (DELETE FROM job_count_deltas RETURNING queue, state, delta),
                totals AS (
                    INSERT INTO job_counts (queue, state, n)
                    SELECT queue, state, sum(delta) FROM folded GROUP BY queue, state
                    ON CONFLICT (queue, state) DO UPDATE SET n = job_counts.n + excluded.n)
                -- What finished since the last fold counts in this minute (a fold runs every few seconds).
                INSERT INTO job_throughput (queue, minute, completed, discarded)
                SELECT queue, date_trunc('minute', now()),
                       coalesce(sum(delta) FILTER (WHERE state = 'completed' AND delta > 0), 0),
                       coalesce(sum(delta) FILTER (WHERE state = 'discarded' AND delta > 0), 0)
                FROM folded GROUP BY queue
                HAVING sum(delta) FILTER (WHERE state IN ('completed', 'discarded') AND delta > 0) > 0
                ON CONFLICT (queue, minute) DO UPDATE SET completed = job_throughput.completed + excluded.completed,
                    discarded = job_throughput.discarded + excluded.discarded
                """)
        }
    }

    /// Jobs completed per minute over the last `minutes`, oldest first, by queue.
    static func throughput(minutes: Int, on connection: Connection) throws -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        for row in try connection.sql("""
            SELECT queue, (extract(epoch FROM date_trunc('minute', now()) - minute) / 60)::int, completed
            FROM job_throughput WHERE minute > date_trunc('minute', now()) - make_interval(mins => \(minutes))
            """).rows {
            let queue: String = try row.decode(at: 0)
            let ago: Int = try row.decode(at: 1)
            var series = out[queue] ?? Array(repeating: 0, count: minutes)
            if ago >= 0 && ago < minutes { series[minutes - 1 - ago] += try row.decode(Int.self, at: 2) }
            out[queue] = series
        }
        return out
    }

    /// Counts by queue and state; `available` split into due now and scheduled for later (the
    /// split is counted live, over the partial index of available jobs).
    static func read(on connection: Connection) throws -> [JobAdmin.QueueStats] {
        var counts: [String: [String: Int]] = [:]
        for row in try connection.sql("""
            SELECT queue, state, sum(n)::bigint FROM (
                SELECT queue, state, n FROM job_counts
                UNION ALL SELECT queue, state, delta FROM job_count_deltas) c
            GROUP BY queue, state
            UNION ALL
            SELECT queue, 'scheduled', count(*) FROM jobs WHERE state = 'available' AND run_at > now() GROUP BY queue
            """).rows {
            counts[try row.decode(at: 0), default: [:]][try row.decode(at: 1)] = try row.decode(Int.self, at: 2)
        }
        return counts.keys.sorted().compactMap { queue in
            let c = counts[queue, default: [:]]
            let scheduled = c["scheduled"] ?? 0
            let stats = JobAdmin.QueueStats(
                queue: queue, available: max(0, (c["available"] ?? 0) - scheduled), scheduled: scheduled,
                running: c["running"] ?? 0, completed: c["completed"] ?? 0, discarded: c["discarded"] ?? 0,
                cancelled: c["cancelled"] ?? 0)
            // A queue whose jobs have all been pruned leaves zero rows behind; it is not listed.
            return JobState.allCases.contains { stats.count($0) > 0 } ? stats : nil
        }
    }
}
