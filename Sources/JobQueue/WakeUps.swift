import Foundation
import Logging
import Postgres

/// Wake-ups for idle workers, sent after commit and coalesced: at most one `NOTIFY` per queue
/// per `interval`, from a thread and connection of their own. A `NOTIFY` inside the enqueuing
/// transaction would take Postgres' global notification lock at that transaction's commit and
/// serialise every writer (River solves the same problem with its notify limiter). Without a
/// started notifier (one-off commands, tests that enqueue directly) the wake-up is sent on the
/// enqueuing connection right after its commit. A lost wake-up costs at most a worker's poll
/// interval: workers still poll.
public final class WakeUps: @unchecked Sendable {
    // `@unchecked Sendable`: `pending`, `connection` and `started` are guarded by `condition`
    // or touched only by the notifier thread (`connection`).
    public static let shared = WakeUps()

    private let condition = NSCondition()
    private var pending: Set<String> = []
    private var started = false
    private var url = ""
    private var connection: Connection?
    /// How long a wake-up may wait for others of the same queue to join it.
    public private(set) var interval: TimeInterval = 0.002
    private let logger = Logger(label: "wake-ups")

    /// Starts the notifier of this process (idempotent).
    public func start(databaseURL: String, interval: TimeInterval = 0.002) {
        condition.lock()
        defer { condition.unlock() }
        guard !started else { return }
        started = true
        url = databaseURL
        self.interval = interval
        let thread = Thread { [self] in run() }
        thread.name = "wake-ups"
        thread.start()
    }

    /// Wakes `queue`'s workers once `connection`'s current work has committed.
    public func wake(_ queue: String, after connection: Connection) {
        connection.afterCommit { [self] in
            condition.lock()
            let running = started
            if running {
                pending.insert(queue)
                condition.signal()
            }
            condition.unlock()
            if !running {
                _ = try? connection.sql("SELECT pg_notify(\(JobQueue.channel(for: queue)), '')")
            }
        }
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty { condition.wait() }
            let queues = Array(pending)
            pending.removeAll()
            condition.unlock()
            send(queues)
            Thread.sleep(forTimeInterval: interval)
        }
    }

    private func send(_ queues: [String]) {
        do {
            if connection == nil || connection!.isBroken {
                connection?.close()
                connection = try Connection.connect(url, applicationName: "dualhook-wake-ups")
            }
            try connection!.sql("SELECT pg_notify(c, '') FROM unnest(\(queues.map(JobQueue.channel(for:)))::text[]) AS c")
        } catch {
            // Workers poll: nothing is lost, only a little latency.
            logger.debug("wake-up not sent", ["queues": queues.joined(separator: ","), "error": "\(error)"])
            connection?.close()
            connection = nil
        }
    }
}
