import Foundation

/// How a worker process runs: which queues with how many slots, and its timings.
public struct WorkerConfiguration: Sendable {
    public struct Queue: Sendable, Equatable {
        public var name: String
        public var concurrency: Int
        public init(name: String, concurrency: Int) {
            self.name = name
            self.concurrency = concurrency
        }
    }

    public var queues: [Queue]
    public var workerID: String
    /// The fallback when no notification arrives (future-scheduled jobs, a lost NOTIFY).
    public var pollInterval: TimeInterval = 1
    /// How often this worker looks for jobs of dead workers whose lease ran out.
    public var reapInterval: TimeInterval = 5
    /// The lease is the kind's timeout plus this margin; the worker itself stops waiting on a
    /// handler at the timeout, the reaper only at the lease.
    public var leaseMargin: TimeInterval = 5
    /// How long running jobs may take to finish after SIGTERM before they are handed back.
    public var shutdownGrace: TimeInterval = 25
    /// Per queue, how many threads may still run handlers past their deadlines before their
    /// slots are left empty instead of replaced; nil: four, or the queue's slot count if larger.
    public var maxStuckThreads: Int?
    /// Told, for each claim that took jobs, their queue and how long each waited past its due
    /// time (seconds): the claim latency, for metrics. On the fetching thread: it must not block.
    public var claimObserver: (@Sendable (_ queue: String, _ waited: [Double]) -> Void)?
    public var completionBatchSize = 1000
    public var completionFlushInterval: TimeInterval = 0.01

    public init(queues: [Queue], workerID: String = WorkerConfiguration.defaultWorkerID()) {
        self.queues = queues
        self.workerID = workerID
    }

    public var totalConcurrency: Int { queues.reduce(0) { $0 + $1.concurrency } }

    /// `host:pid:random`, unique per process and readable in `jobs.locked_by`.
    public static func defaultWorkerID() -> String {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, 255)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return "\(host):\(getpid()):\(suffix)"
    }
}
