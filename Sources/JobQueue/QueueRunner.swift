import Foundation

/// A job this worker is running now.
final class RunningJob: @unchecked Sendable {
    // `@unchecked Sendable`: `job`, `context` and `startedAt` are immutable; `abandoned` is
    // read and written only under the owning QueueRunner's lock.
    let job: ClaimedJob
    let context: JobContext
    let startedAt: Date
    var abandoned = false

    init(job: ClaimedJob, context: JobContext, startedAt: Date) {
        self.job = job
        self.context = context
        self.startedAt = startedAt
    }
}

/// The slots of one queue: `concurrency` threads that each run one claimed job at a time.
///
/// A slot whose handler overran its deadline is abandoned: its job is failed as timed out and
/// a fresh thread takes the slot, so one stuck handler never shrinks the worker's capacity. The
/// replacements are capped: with as many stuck threads as the queue has slots, an abandoned slot
/// stays empty (and is reported) until a stuck thread comes back and takes it, so handlers that
/// never return cannot grow the process's threads without bound.
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
    /// Slots left empty because the cap of stuck threads was reached.
    private var emptySlots = 0

    private var mayHaveMoreFlag = true
    private let start: @Sendable (ClaimedJob) -> RunningJob
    private let perform: @Sendable (RunningJob) -> JobOutcome
    private let record: @Sendable (RunningJob, JobOutcome) -> Void
    private let finished: @Sendable (QueueRunner) -> Void
    private let group: DispatchGroup

    init(name: String, concurrency: Int, maxStuckThreads: Int? = nil, group: DispatchGroup,
         start: @escaping @Sendable (ClaimedJob) -> RunningJob,
         perform: @escaping @Sendable (RunningJob) -> JobOutcome,
         record: @escaping @Sendable (RunningJob, JobOutcome) -> Void,
         finished: @escaping @Sendable (QueueRunner) -> Void) {
        self.name = name
        self.concurrency = concurrency
        self.maxStuckThreads = maxStuckThreads ?? max(4, concurrency)
        self.group = group
        self.start = start
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
        // One waiting slot per job: a broadcast would wake every idle slot for a few jobs.
        for _ in jobs { condition.signal() }
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
            abandon(job)
            if stopping { continue }
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

    private func abandon(_ job: RunningJob) {
        job.abandoned = true
        running[job.job.id] = nil
        abandonedThreads += 1
    }

    /// Threads still running handlers past their deadlines, and slots left empty for them.
    var stuck: (threads: Int, emptySlots: Int) { condition.withLock { (abandonedThreads, emptySlots) } }

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
            let job = pending.removeFirst()
            let current = start(job)
            running[job.id] = current
            condition.unlock()

            let outcome = perform(current)

            // Leaving `running` under the lock decides who records the outcome: this thread,
            // or the watchdog that abandoned the job first.
            condition.lock()
            if current.abandoned {
                abandonedThreads -= 1
                if emptySlots > 0 && !stopping {
                    // Its slot was left empty at the cap: this thread takes an empty slot again.
                    emptySlots -= 1
                    condition.unlock()
                    continue
                }
                // The watchdog already failed this job and put a fresh thread in this slot.
                threads -= 1
                condition.unlock()
                return
            }
            running[job.id] = nil
            let wantMore = mayHaveMoreFlag
            condition.unlock()
            record(current, outcome)
            if wantMore { finished(self) }
        }
    }

}
