import Foundation

/// The threads request handlers run on: a fixed number, each taking the oldest waiting
/// request. libmicrohttpd's own threads only read requests and write answers and never block,
/// so a handler waiting for the database holds one of these threads and no connection but its
/// own.
///
/// Handlers used to run on libmicrohttpd's epoll threads, each serving the connections it
/// happened to accept: a handler waiting for the database held every other connection of its
/// thread, and which connections shared a thread was chance. `ops/bench/api` showed it in the
/// tail: with 32 connections, p99 72–98 ms on 16 threads against 39–55 ms on 128, and p50 the
/// other way round.
///
/// `@unchecked Sendable`: `queue`, `head`, `pending` and `closed` are read and written only
/// while `condition` is locked.
final class HandlerThreads: @unchecked Sendable {
    typealias Work = @Sendable () -> Void

    private let condition = NSCondition()
    /// Taken entries are cleared at once (what they hold is freed) and dropped in bulk.
    private var queue: [Work?] = []
    /// The next work to take in `queue`.
    private var head = 0
    /// Work queued or running.
    private var pending = 0
    private var closed = false

    init(count: Int, name: String) {
        for index in 0..<max(1, count) {
            // Each thread keeps this alive until `close()` lets it end.
            let thread = Thread { self.run() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    /// Work queued or running.
    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return pending
    }

    /// Queues `work` after running `before` (under the queue's lock, so no thread can take the
    /// work first); false, and `before` not run, once `close()` was called.
    func submit(before: () -> Void, _ work: @escaping Work) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        before()
        queue.append(work)
        pending += 1
        condition.signal()
        return true
    }

    /// Takes no more work, and returns once every queued work has run. The threads end soon
    /// after (they are not waited for).
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        while pending > 0 { condition.wait() }
        condition.unlock()
    }

    private func run() {
        condition.lock()
        while true {
            while head == queue.count && !closed { condition.wait() }
            if head == queue.count {  // closed and nothing left
                condition.unlock()
                return
            }
            let work = queue[head]!
            queue[head] = nil
            head += 1
            if head == queue.count || head >= 1024 {
                queue.removeFirst(head)
                head = 0
            }
            condition.unlock()
            work()
            condition.lock()
            pending -= 1
            if pending == 0 && closed { condition.broadcast() }
        }
    }
}
