import Foundation
import Logging
import Postgres

/// A worker process's engine: claims jobs of its queues with `FOR UPDATE SKIP LOCKED`, runs
/// them on its own threads, records outcomes, and reaps jobs of workers that died.
///
/// Threads: one fetcher (claims), one listener (LISTEN, wakes the fetcher), one completer
/// (batched completions), one maintenance thread (deadlines and the reaper), and the slots of
/// each queue. All blocking libpq calls happen on these threads.
///
/// `@unchecked Sendable`: the mutable fields below are guarded by `fetchCondition`; everything
/// else is immutable or a thread-safe component.
public final class Worker: @unchecked Sendable {
    public let configuration: WorkerConfiguration
    let registry: JobRegistry
    let pool: ConnectionPool
    let databaseURL: String
    let logger: Logger
    let health: DatabaseHealth
    let completer: Completer
    private(set) var runners: [QueueRunner] = []
    private let threads = DispatchGroup()
    private let slotThreads = DispatchGroup()

    /// Wakes the fetcher: a notification, a freed slot, a stop. Only the fetcher waits on it,
    /// so a signal is never taken by another thread.
    private let fetchCondition = NSCondition()
    private var fetchRequested = true
    private var stopping = false
    /// Jobs this worker put off, claimed when they fall due.
    private var dueTimes = DueTimes()
    /// What the other threads sleep on between rounds; broadcast on stop.
    private let pauseCondition = NSCondition()

    public init(configuration: WorkerConfiguration, registry: JobRegistry, databaseURL: String, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.databaseURL = databaseURL
        self.logger = logger.with("worker", configuration.workerID)
        // Slots, plus the fetcher, the completer and the reaper.
        self.pool = ConnectionPool(url: databaseURL, maxConnections: configuration.totalConcurrency + 3,
                                   acquireTimeout: 10, applicationName: "dualhook-worker")
        self.health = DatabaseHealth(logger: self.logger)
        self.completer = Completer(pool: pool, workerID: configuration.workerID,
                                   batchSize: configuration.completionBatchSize,
                                   flushInterval: configuration.completionFlushInterval,
                                   health: health, logger: self.logger)
    }

    var isStopping: Bool { fetchCondition.withLock { stopping } }

    /// Runs until `stop()` is called, then shuts down gracefully and returns.
    public func run() {
        runners = configuration.queues.map { queue in
            QueueRunner(
                name: queue.name, concurrency: queue.concurrency, maxStuckThreads: configuration.maxStuckThreads, group: slotThreads,
                start: { [unowned self] job, run in self.begin(job, run: run) },
                batchSize: { [registry] kind in registry.batchSize(of: kind) },
                perform: { [unowned self] running, finished in self.perform(running, finished: finished) },
                record: { [unowned self] finished in
                    var snoozed: [(ClaimedJob, TimeInterval)] = []
                    for (running, outcome) in finished {
                        // Completed in the handler's own committed transaction: nothing left to write.
                        if case .completed = outcome, running.context.completedByHandler.load(ordering: .relaxed) { continue }
                        // Set aside together (a batch's jobs that found their account busy): one statement.
                        if case .snooze(let delay) = outcome { snoozed.append((running.job, delay)); continue }
                        self.record(running.job, outcome)
                    }
                    self.snooze(snoozed)
                },
                finished: { [unowned self] _ in self.requestFetch() })
        }
        for runner in runners { runner.startThreads() }
        completer.start(group: threads)
        spawn("dh-listener") { self.listenLoop() }
        spawn("dh-maintenance") { self.maintenanceLoop() }
        logger.info("worker started", [
            "queues": configuration.queues.map { "\($0.name):\($0.concurrency)" }.joined(separator: ","),
            "kinds": registry.kinds.count,
        ])
        fetchLoop()
        shutdown()
    }

    /// Asks the worker to stop; safe from any thread (the signal handler's, say).
    public func stop() {
        fetchCondition.lock()
        stopping = true
        fetchCondition.broadcast()
        fetchCondition.unlock()
        pauseCondition.lock()
        pauseCondition.broadcast()
        pauseCondition.unlock()
    }

    func requestFetch() {
        fetchCondition.lock()
        fetchRequested = true
        fetchCondition.signal()
        fetchCondition.unlock()
    }

    private func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) {
        threads.enter()
        let thread = Thread { [threads] in
            body()
            threads.leave()
        }
        thread.name = name
        thread.start()
    }

    /// Sleeps up to `seconds`, waking early when the worker stops.
    func pause(_ seconds: TimeInterval) {
        let until = Date().addingTimeInterval(seconds)
        pauseCondition.lock()
        while !isStopping && pauseCondition.wait(until: until) {}
        pauseCondition.unlock()
    }

    // MARK: Claiming

    private func fetchLoop() {
        var nextPoll = Date().addingTimeInterval(configuration.pollInterval)
        while true {
            fetchCondition.lock()
            while !fetchRequested && !stopping {
                let until = min(nextPoll, dueTimes.earliest ?? nextPoll)
                guard Date() < until else { break }
                _ = fetchCondition.wait(until: until)
            }
            if stopping {
                fetchCondition.unlock()
                return
            }
            fetchRequested = false
            let due = dueTimes.takeDue()
            fetchCondition.unlock()

            let polling = Date() >= nextPoll
            if polling { nextPoll = Date().addingTimeInterval(configuration.pollInterval) }
            for runner in runners where due.contains(runner.name) { runner.mayHaveMore = true }
            for runner in runners where polling || runner.mayHaveMore {
                let free = runner.freeSlots
                guard free > 0 else { continue }
                do {
                    let jobs = try pool.withConnection { connection in
                        try JobTransitions.claim(queue: runner.name, limit: free, workerID: configuration.workerID,
                                             leaseMargin: configuration.leaseMargin, on: connection)
                    }
                    health.succeeded()
                    if !jobs.isEmpty { configuration.claimObserver?(runner.name, jobs.map(\.waited)) }
                    runner.mayHaveMore = jobs.count == free
                    runner.push(jobs)
                } catch {
                    pause(health.failed(error, during: "claim"))
                    requestFetch()
                    break
                }
            }
        }
    }

    private func listenLoop() {
        var listener: Listener?
        let channels = Dictionary(uniqueKeysWithValues: runners.map { (JobQueue.channel(for: $0.name), $0) })
        while !isStopping {
            do {
                if listener == nil {
                    let fresh = try Listener(url: databaseURL, applicationName: "dualhook-worker-listener")
                    for channel in channels.keys { try fresh.listen(channel) }
                    listener = fresh
                    // Anything enqueued while we were not listening is found by a claim now.
                    for runner in runners { runner.mayHaveMore = true }
                    requestFetch()
                }
                let notifications = try listener!.wait(timeout: 0.5)
                if !notifications.isEmpty {
                    for note in notifications { channels[note.channel]?.mayHaveMore = true }
                    requestFetch()
                }
            } catch {
                listener?.connection.close()
                listener = nil
                pause(health.failed(error, during: "listen"))
            }
        }
        listener?.connection.close()
    }

    // MARK: Running

    private func begin(_ job: ClaimedJob, run: SlotRun) -> RunningJob {
        let now = Date()
        let context = JobContext(
            jobID: job.id, kind: job.kind, queue: job.queue, attempt: job.attempt, maxAttempts: job.maxAttempts,
            deadline: now.addingTimeInterval(TimeInterval(job.timeoutSeconds)), createdAt: job.createdAt, workerID: configuration.workerID,
            logger: logger.with("job", job.id).with("kind", job.kind), database: pool)
        return RunningJob(job: job, context: context, startedAt: now, run: run)
    }

    /// Runs a slot's jobs (all of one kind: a batch, or one job), giving their outcomes to
    /// `finished` as they end (each job's index), in the groups the kind gives them.
    private func perform(_ running: [RunningJob], finished: ([(Int, JobOutcome)]) -> Void) {
        guard let kind = running.first?.job.kind else { return }
        guard let entry = registry.entry(kind) else {
            finished(running.indices.map { ($0, .discard(error: "unknown job kind \(kind): no handler is registered for it in this worker")) })
            return
        }
        entry.run(running.map { ($0.job.args, $0.context) }) { outcomes in
            finished(outcomes.map { i, error in
                let job = running[i].job
                return (i, error.map { JobOutcome.failure($0, attempt: job.attempt, maxAttempts: job.maxAttempts, policy: entry.retryPolicy) }
                               ?? .completed)
            })
        }
    }

    func record(_ job: ClaimedJob, _ outcome: JobOutcome) {
        switch outcome {
        case .completed:
            completer.add(id: job.id, attempt: job.attempt)
        case .retry(let delay, let error):
            // The delay is said only when recorded: otherwise the job was returned when its lease
            // ran out, or cancelled, or (no database) it is returned when its lease runs out.
            let recorded = fail(job, .retry(after: delay), error: error)
            if recorded { expectDue(job, after: delay) }
            logger.warning(recorded ? "job failed; will retry" : "job failed; its retry was not recorded: its lease decides when it runs again", [
                "job": job.id, "kind": job.kind, "attempt": "\(job.attempt)/\(job.maxAttempts)",
                "retry_in_s": recorded ? String(format: "%.1f", delay) : "-", "error": error,
            ])
        case .snooze(let delay):
            snooze([(job, delay)])
        case .discard(let error):
            logger.error("job discarded", [
                "job": job.id, "kind": job.kind, "attempt": "\(job.attempt)/\(job.maxAttempts)", "error": error,
            ])
            fail(job, .discard, error: error)
        }
    }

    /// Records a failed attempt; false when nothing was written (no database, or the attempt is
    /// no longer this worker's). Should the database be down, the lease runs out and the reaper
    /// returns the job instead: nothing is lost either way.
    @discardableResult
    private func fail(_ job: ClaimedJob, _ failure: JobTransitions.Failure, error: String) -> Bool {
        do {
            let written = try pool.withConnection { connection in
                try JobTransitions.fail(id: job.id, attempt: job.attempt, workerID: configuration.workerID, failure,
                                        error: error, on: connection)
            }
            health.succeeded()
            return written
        } catch {
            _ = health.failed(error, during: "record failure")
            return false
        }
    }

    private func snooze(_ jobs: [(ClaimedJob, TimeInterval)]) {
        guard !jobs.isEmpty else { return }
        do {
            try pool.withConnection { connection in
                try JobTransitions.snooze(ids: jobs.map(\.0.id), attempts: jobs.map(\.0.attempt), delays: jobs.map(\.1),
                                          workerID: configuration.workerID, on: connection)
            }
            health.succeeded()
            for (job, delay) in jobs { expectDue(job, after: delay) }
        } catch {
            _ = health.failed(error, during: "snooze")
        }
    }

    /// The fetcher claims from the job's queue when it falls due (`DueTimes`).
    private func expectDue(_ job: ClaimedJob, after delay: TimeInterval) {
        fetchCondition.lock()
        dueTimes.add(queue: job.queue, after: delay)
        fetchCondition.signal()
        fetchCondition.unlock()
    }

    // MARK: Deadlines and the reaper

    private func maintenanceLoop() {
        var nextReap = Date()
        var published = false
        while !isStopping {
            let now = Date()
            for runner in runners {
                let overdueJobs = runner.abandonOverdue(now: now)
                if !overdueJobs.isEmpty {
                    let stuck = runner.stuck
                    if stuck.emptySlots > 0 {
                        // Reported each time a slot is left empty, naming what is stuck.
                        logger.warning("stuck handlers: slots left empty until they return", [
                            "queue": runner.name, "stuck_threads": stuck.threads, "empty_slots": stuck.emptySlots,
                            "kinds": Set(overdueJobs.map(\.job.kind)).sorted().joined(separator: ","),
                        ])
                    }
                }
                for overdue in overdueJobs {
                    overdue.context.cancel()
                    let policy = registry.entry(overdue.job.kind)?.retryPolicy ?? .standard
                    // A timeout is an ordinary failure: retried by the kind's policy.
                    record(overdue.job, JobOutcome.failure(
                        JobTimeout(seconds: overdue.job.timeoutSeconds),
                        attempt: overdue.job.attempt, maxAttempts: overdue.job.maxAttempts, policy: policy))
                }
            }
            if now >= nextReap {
                if !published { published = publishKinds() }
                reap()
                nextReap = Date().addingTimeInterval(configuration.reapInterval * Double.random(in: 0.8...1.2))
            }
            pause(0.1)
        }
    }

    /// Until it has succeeded once (the database may be down when the worker starts).
    private func publishKinds() -> Bool {
        do {
            try pool.withConnection { try registry.publish(on: $0) }
            return true
        } catch {
            _ = health.failed(error, during: "publish job kinds")
            return false
        }
    }

    private func reap() {
        // First and on its own: a slow reap must not make a live worker look silent.
        do { try report() } catch { _ = health.failed(error, during: "report") }
        do {
            let reaped = try Reaper.reap(registry: registry, pool: pool)
            try JobCounts.fold(pool: pool)
            health.succeeded()
            if reaped > 0 { logger.warning("returned jobs whose lease ran out (their worker stopped or lost the database)", ["count": reaped]) }
        } catch {
            _ = health.failed(error, during: "reap")
        }
    }

    /// This worker's row in `job_workers`, for the console: its queues and what it runs now.
    private func report() throws {
        let queues = configuration.queues.map { "\($0.name):\($0.concurrency)" }.joined(separator: ",")
        let running = runners.reduce(0) { $0 + $1.busy }
        try pool.withConnection { try JobAdmin.report(workerID: configuration.workerID, queues: queues, running: running, on: $0) }
    }

    // MARK: Shutdown

    private func shutdown() {
        logger.info("stopping: no new jobs are claimed", ["grace_s": configuration.shutdownGrace])
        var unstarted: [ClaimedJob] = []
        for runner in runners { unstarted += runner.stop() }
        handBack(unstarted.map(\.id), interrupted: false)

        let deadline = Date().addingTimeInterval(configuration.shutdownGrace)
        while runners.contains(where: { $0.busy > 0 }) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        var interrupted: [RunningJob] = []
        for runner in runners { interrupted += runner.abandonAll() }
        for job in interrupted { job.context.cancel() }
        handBack(interrupted.map(\.job.id), interrupted: true)
        registry.workerStopping(database: JobDatabase(pool: pool, deadline: Date().addingTimeInterval(5)))
        do {
            try pool.withConnection { try JobAdmin.signOff(workerID: configuration.workerID, on: $0) }
        } catch {
            logger.warning("could not remove this worker from the console's list; it shows as silent", ["error": "\(error)"])
        }

        completer.stop()
        _ = threads.wait(timeout: .now() + 5)
        pool.shutdown()
        logger.info("worker stopped", ["handed_back": unstarted.count, "interrupted": interrupted.count])
    }

    /// Returns claimed jobs to `available` without counting the attempt: unstarted ones, and
    /// (with a note in `errors`) ones still running when the shutdown grace ran out.
    private func handBack(_ ids: [Int64], interrupted: Bool) {
        guard !ids.isEmpty else { return }
        let note = interrupted ? "interrupted: the worker shut down before the job finished" : ""
        for attempt in 1...3 {
            do {
                try pool.withConnection { connection in
                    try JobTransitions.handBack(ids: ids, workerID: configuration.workerID, note: note, on: connection)
                }
                return
            } catch {
                if attempt == 3 {
                    logger.error("could not hand jobs back; the reaper will return them when their lease ends",
                                 ["count": ids.count, "error": "\(error)"])
                }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
    }
}
