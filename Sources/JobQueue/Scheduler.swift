import Foundation
import Logging
import Postgres

/// Enqueues each periodic sweep once per period, however many schedulers run.
///
/// The period is computed from the database's clock, so machines with skewed clocks agree; a
/// scheduler first inserts `(name, period_start)` into `job_periods` and only the one whose
/// insert lands enqueues the job, in the same transaction. No leader election is needed.
///
/// `@unchecked Sendable`: `stopping` is guarded by `condition`.
public final class Scheduler: @unchecked Sendable {
    public let jobs: [PeriodicJob]
    private let pool: ConnectionPool
    private let logger: Logger
    private let condition = NSCondition()
    private var stopping = false

    public init(jobs: [PeriodicJob], databaseURL: String, logger: Logger) {
        self.jobs = jobs
        self.pool = ConnectionPool(url: databaseURL, maxConnections: 1, applicationName: "dualhook-scheduler")
        self.logger = logger
    }

    public func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    /// Runs until `stop()`.
    public func run() {
        logger.info("scheduler started", ["sweeps": jobs.map { "\($0.name)/\(Int($0.interval))s" }.joined(separator: ",")])
        let health = DatabaseHealth(logger: logger)
        while true {
            var wait: TimeInterval = 1
            do {
                wait = try tick()
                health.succeeded()
            } catch {
                wait = health.failed(error, during: "schedule")
            }
            let until = Date().addingTimeInterval(min(max(wait, 0.05), 5))
            condition.lock()
            while !stopping && condition.wait(until: until) {}
            let done = stopping
            condition.unlock()
            if done { break }
        }
        pool.shutdown()
        logger.info("scheduler stopped")
    }

    /// Enqueues every sweep whose current period has no job yet; returns the seconds until the
    /// nearest next period.
    @discardableResult
    public func tick() throws -> TimeInterval {
        var nextIn = TimeInterval.infinity
        for job in jobs {
            let (enqueued, periodStart, secondsLeft) = try Scheduler.enqueueCurrentPeriod(job, pool: pool)
            if let enqueued {
                logger.info("sweep enqueued", ["sweep": job.name, "period": periodStart, "job": enqueued])
            }
            nextIn = min(nextIn, secondsLeft)
        }
        return nextIn.isFinite ? nextIn : 5
    }

    static func enqueueCurrentPeriod(_ job: PeriodicJob, pool: ConnectionPool) throws -> (Int64?, String, TimeInterval) {
        try pool.transaction { tx in
            let period = try tx.sql("""
                SELECT to_timestamp(floor(extract(epoch FROM now()) / \(job.interval)) * \(job.interval)) AS start,
                       \(job.interval) - (extract(epoch FROM now())::float8 - floor(extract(epoch FROM now()) / \(job.interval)) * \(job.interval)) AS left
                """)
            let start: Date = try period[0].decode(at: 0)
            let left: Double = try period[0].decode(at: 1)
            let claimed = try tx.sql("""
                INSERT INTO job_periods (name, period_start) VALUES (\(job.name), \(start))
                ON CONFLICT DO NOTHING RETURNING 1
                """)
            let label = ISO8601DateFormatter().string(from: start)
            guard !claimed.isEmpty else { return (nil, label, left) }
            let id = try job.enqueue(tx, "sweep:\(job.name):\(label)")
            try tx.sql("UPDATE job_periods SET job_id = \(id) WHERE name = \(job.name) AND period_start = \(start)")
            return (id, label, left)
        }
    }
}
