import Foundation

/// A job this worker is running now.
final class RunningJob: @unchecked Sendable {
    // `@unchecked Sendable`: `job`, `context`, `startedAt` and `run` are immutable; `abandoned`
    // is read and written only under the owning QueueRunner's lock.
    let job: ClaimedJob
    let context: JobContext
    let startedAt: Date
    /// The slot thread's run this job is part of (with the rest of its batch).
    let run: SlotRun
    var abandoned = false

    init(job: ClaimedJob, context: JobContext, startedAt: Date, run: SlotRun) {
        self.job = job
        self.context = context
        self.startedAt = startedAt
        self.run = run
    }
}

/// One slot thread's run of a batch of jobs (one job unless the kind is a `BatchJobKind`).
/// The watchdog abandons the thread once, however many of its jobs overran.
///
/// `@unchecked Sendable`: `abandoned` is read and written only under the owning QueueRunner's lock.
final class SlotRun: @unchecked Sendable {
    var abandoned = false
}

/// The slots of one queue: `concurrency` threads that each run one claimed job at a time, or a
/// batch of jobs of one `BatchJobKind`; `concurrency` counts jobs in flight either way.
///
/// A slot whose handler overran its deadline is abandoned: its job is failed as timed out and
/// a fresh thread takes the slot, so one stuck handler never shrinks the worker's capacity. The
/// replacements are capped: past `maxStuckThreads`, an abandoned thread is not replaced and one
/// slot stays empty for it (and is reported) until a stuck thread comes back and takes it, so
/// handlers that never return cannot grow the process's threads without bound. A stuck thread
/// that comes back when no slot is empty exits: its replacement already runs.
///
/// `@unchecked Sendable`: all mutable state is guarded by `condition`.
final class QueueRunner: @unchecked Sendable {
    let name: String
    let concurrency: Int
    /// How many abandoned threads may still be running before slots stop being replaced.
    let maxStuckThreads: Int
    private let condition = NSCondition()
    private var pending: [ClaimedJob] = []
    private var running: [Int64: RunningJob] = [:]
    private var stopping = false
    private var threads = 0
    private var abandonedThreads = 0
    /// Slots left empty because the cap of stuck threads was reached: one per stuck thread not
    /// replaced, whatever the size of the batch it was running (the batch's jobs were failed and
    /// the threads still running can take them on).
    private var emptySlots = 0

    private var mayHaveMoreFlag = true
    private let start: @Sendable (ClaimedJob, SlotRun) -> RunningJob
    private let batchSize: @Sendable (String) -> Int
    private let perform: @Sendable ([RunningJob], ([(Int, JobOutcome)]) -> Void) -> Void
    private let record: @Sendable ([(RunningJob, JobOutcome)]) -> Void
    private let finished: @Sendable (QueueRunner) -> Void
    private let group: DispatchGroup

    init(name: String, concurrency: Int, maxStuckThreads: Int? = nil, group: DispatchGroup,
         start: @escaping @Sendable (ClaimedJob, SlotRun) -> RunningJob,
         batchSize: @escaping @Sendable (String) -> Int = { _ in 1 },
         perform: @escaping @Sendable ([RunningJob], ([(Int, JobOutcome)]) -> Void) -> Void,
         record: @escaping @Sendable ([(RunningJob, JobOutcome)]) -> Void,
         finished: @escaping @Sendable (QueueRunner) -> Void) {
        self.name = name
        self.concurrency = concurrency
        self.maxStuckThreads = maxStuckThreads ?? max(4, concurrency)
        self.group = group
        self.start = start
        self.batchSize = batchSize
        self.perform = perform
        self.record = record
        self.finished = finished
    }

    func startThreads() {
        for _ in 0..<concurrency { spawn() }
    }

    /// Whether the last claim filled every free slot, so more jobs may be waiting.
    var mayHaveMore: Bool {
        get { condition.withLock { mayHaveMoreFlag } }
        set { condition.withLock { mayHaveMoreFlag = newValue } }
    }

    var freeSlots: Int {
        condition.withLock { stopping ? 0 : max(0, concurrency - emptySlots - pending.count - running.count) }
    }

    var busy: Int { condition.withLock { pending.count + running.count } }

    func push(_ jobs: [ClaimedJob]) {
        guard !jobs.isEmpty else { return }
        condition.lock()
        pending.append(contentsOf: jobs)
        // One waiting slot per batch the jobs make: a broadcast would wake every idle slot for a
        // few jobs, and a signal per job would wake slots that find their jobs taken by a batch.
        var perKind: [String: Int] = [:]
        for job in jobs { perKind[job.kind, default: 0] += 1 }
        for (kind, count) in perKind {
            let size = max(1, batchSize(kind))
            for _ in 0..<(count + size - 1) / size { condition.signal() }
        }
        condition.unlock()
    }

    /// Stops taking jobs; returns the claimed jobs that never started, to be handed back.
    func stop() -> [ClaimedJob] {
        condition.lock()
        stopping = true
        let unstarted = pending
        pending.removeAll()
        condition.broadcast()
        condition.unlock()
        return unstarted
    }

    /// Jobs past their deadline, removed from the slots and marked abandoned.
    func abandonOverdue(now: Date) -> [RunningJob] {
        condition.lock()
        let overdue = running.values.filter { $0.context.deadline <= now }
        var replacements = 0
        for job in overdue {
            // A thread is abandoned once, with the first of its batch's jobs that overran.
            guard abandon(job), !stopping else { continue }
            if abandonedThreads <= maxStuckThreads { replacements += 1 } else { emptySlots += 1 }
        }
        condition.unlock()
        for _ in 0..<replacements { spawn() }
        return overdue
    }

    /// Every job still running (after the shutdown grace), removed and marked abandoned.
    func abandonAll() -> [RunningJob] {
        condition.lock()
        let all = Array(running.values)
        for job in all { abandon(job) }
        condition.unlock()
        return all
    }

    /// Marks the job abandoned; true when this abandons its thread (the first of its batch).
    @discardableResult
    private func abandon(_ job: RunningJob) -> Bool {
        job.abandoned = true
        running[job.job.id] = nil
        guard !job.run.abandoned else { return false }
        job.run.abandoned = true
        abandonedThreads += 1
        return true
    }

    /// Threads still running handlers past their deadlines, and slots left empty for them.
    var stuck: (threads: Int, emptySlots: Int) { condition.withLock { (abandonedThreads, emptySlots) } }

    /// Slot threads alive, stuck ones included.
    var threadCount: Int { condition.withLock { threads } }

    private func spawn() {
        condition.withLock { threads += 1 }
        group.enter()
        let thread = Thread { [self] in
            slotLoop()
            group.leave()
        }
        thread.name = "dh-\(name)"
        thread.start()
    }

    private func slotLoop() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if stopping {
                threads -= 1
                condition.unlock()
                return
            }
            let batch = takeBatch()
            let run = SlotRun()
            let current = batch.map { start($0, run) }
            for job in current { running[job.job.id] = job }
            condition.unlock()

            // Each outcome is recorded as it comes, and its slot serves the next job at once.
            // Leaving `running` under the lock decides who records it: this thread, or the
            // watchdog that abandoned the job first. Jobs of an abandoned run that had not
            // overrun are still this thread's to record, and their slots are claimed for.
            perform(current) { outcomes in
                condition.lock()
                let mine = outcomes.filter { i, _ in !current[i].abandoned && running.removeValue(forKey: current[i].job.id) != nil }
                let wantMore = mayHaveMoreFlag && !mine.isEmpty
                condition.unlock()
                if !mine.isEmpty { record(mine.map { (current[$0.0], $0.1) }) }
                // One claim for the slots a group of outcomes freed.
                if wantMore { finished(self) }
            }

            condition.lock()
            // A job given no outcome (a handler that broke its contract) leaves its slot free.
            for job in current where !job.abandoned { running[job.job.id] = nil }
            if run.abandoned {
                abandonedThreads -= 1
                // A slot left empty at the cap (for this thread or another stuck one) is taken
                // again; with none, this thread's replacement already runs, so it exits.
                guard !stopping, emptySlots > 0 else {
                    threads -= 1
                    condition.unlock()
                    return
                }
                emptySlots -= 1
                condition.unlock()
                continue
            }
            condition.unlock()
        }
    }

    /// The first pending job and, when its kind runs in batches, the pending jobs of the same
    /// kind after it, up to the kind's batch size. Called under the lock.
    private func takeBatch() -> [ClaimedJob] {
        let first = pending.removeFirst()
        let size = batchSize(first.kind)
        guard size > 1 else { return [first] }
        var batch = [first]
        var i = 0
        while batch.count < size && i < pending.count {
            if pending[i].kind == first.kind { batch.append(pending.remove(at: i)) } else { i += 1 }
        }
        return batch
    }

}
