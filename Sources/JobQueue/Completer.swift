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

    private func flush(_ ids: [Int64], _ attempts: [Int]) throws {
        try pool.withConnection { try JobTransitions.complete(ids: ids, attempts: attempts, workerID: workerID, on: $0) }
    }
}
