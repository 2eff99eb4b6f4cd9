import Foundation
import Logging
import Postgres

/// Collects successful attempts and marks them completed in batches: one UPDATE for up to
/// `batchSize` jobs, at most `flushInterval` after the first one finished.
///
/// `@unchecked Sendable`: the buffer and flags are guarded by `condition`.
final class Completer: @unchecked Sendable {
    private let pool: ConnectionPool
    private let workerID: String
    private let batchSize: Int
    private let flushInterval: TimeInterval
    private let health: DatabaseHealth
    private let logger: Logger
    private let condition = NSCondition()
    private var ids: [Int64] = []
    private var attempts: [Int] = []
    private var stopping = false
    private var stopped = false

    init(pool: ConnectionPool, workerID: String, batchSize: Int, flushInterval: TimeInterval,
         health: DatabaseHealth, logger: Logger) {
        self.pool = pool
        self.workerID = workerID
        self.batchSize = batchSize
        self.flushInterval = flushInterval
        self.health = health
        self.logger = logger
    }

    func start(group: DispatchGroup) {
        group.enter()
        let thread = Thread { [self] in
            loop()
            group.leave()
        }
        thread.name = "dh-completer"
        thread.start()
    }

    func add(id: Int64, attempt: Int) {
        condition.lock()
        ids.append(id)
        attempts.append(attempt)
        if ids.count == 1 || ids.count >= batchSize { condition.signal() }
        condition.unlock()
    }

    /// Flushes what is left and stops the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while ids.isEmpty && !stopping { condition.wait() }
            if ids.isEmpty && stopping {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            // Give the batch a moment to fill unless it is full already.
            let until = Date().addingTimeInterval(flushInterval)
            while ids.count < batchSize && !stopping && condition.wait(until: until) {}
            let batchIDs = Array(ids.prefix(batchSize))
            let batchAttempts = Array(attempts.prefix(batchSize))
            ids.removeFirst(batchIDs.count)
            attempts.removeFirst(batchAttempts.count)
            let finalFlush = stopping
            condition.unlock()

            var tries = 0
            while true {
                do {
                    try flush(batchIDs, batchAttempts)
                    health.succeeded()
                    break
                } catch {
                    tries += 1
                    let wait = health.failed(error, during: "complete")
                    // While the database is away the batch is kept; if it stays away past the
                    // leases the reaper hands these jobs out again (at least once, never lost).
                    if finalFlush && tries >= 3 {
                        logger.error("could not record completions before stopping", ["count": batchIDs.count])
                        break
                    }
                    Thread.sleep(forTimeInterval: wait)
                }
            }
        }
    }

    /// The plan is the generic one from the first flush on (sent with the update, in one
    /// round trip and one transaction). A plan made for the batch's values
    /// trusts the statistics, and those often saw no job running (an idle moment, or right
    /// after a bulk enqueue): it then expects one running row, scans the whole table once per
    /// flush and joins the batch to it (78–962 ms for one flush of up to 1,000 jobs in
    /// `ops/bench/queue`, the first five flushes of every connection, about a fifth of the
    /// drain). The generic plan walks the batch and finds each job by its key.
    private func flush(_ ids: [Int64], _ attempts: [Int]) throws {
        try pool.withConnection { connection in
            try connection.pipeline([
                .genericPlans,
                """
                UPDATE jobs j SET state = 'completed', finalized_at = now(), locked_until = NULL
                FROM unnest(\(ids)::bigint[], \(attempts)::int[]) AS done(id, attempt)
                WHERE j.id = done.id AND j.attempt = done.attempt AND j.locked_by = \(workerID) AND j.state = 'running'
                """,
            ])
        }
    }
}
