import Foundation

/// Group commit: the writes of many callers (jobs or requests on several threads) in one transaction,
/// each caller answered only after that transaction committed. A transaction's round trips and
/// its durable commit cost the same for one row as for a hundred, so under load the rate of
/// writes is no longer the rate of commits.
///
/// No thread of its own: a waiting caller that finds fewer than `concurrency` batches running
/// leads the next one (it takes everything queued so far, up to `maxItems`), and the callers
/// that arrive while batches run queue up for the next. Several batches run at once so that
/// one's commit waiting for the disk does not leave the others' work waiting behind it. With
/// one caller at a time it is a plain transaction.
/// If a batch of several callers fails, each caller's items are run again in a transaction of
/// their own, so one caller's bad items (or a connection found broken) fail only that caller,
/// unless `retryAlone` says the failure was the batch's own. By default that is so when the
/// connection was lost during the COMMIT: the batch may have committed, and its callers are
/// told so rather than written twice.
///
/// `@unchecked Sendable`: `queue`, `running` and an entry's `result` and `leading` are read and
/// written only under `lock`.
public final class CommitBatcher<Item: Sendable, Outcome: Sendable>: @unchecked Sendable {
    /// Writes `items` in the transaction it is given and answers one outcome per item, in order.
    public typealias Write = @Sendable ([Item], Connection) throws -> [Outcome]
    /// Lends the leading caller's connection (with whatever settings that caller's work runs
    /// under, a job's statement timeout say) for the time of `body`.
    public typealias Lend = ((Connection) throws -> [Outcome]) throws -> [Outcome]

    private final class Entry {
        let items: [Item]
        var result: Result<[Outcome], any Error>?
        /// Its caller is leading a batch (which may not hold this entry), so is not waiting.
        var leading = false
        /// Wakes this entry's caller alone: its batch ended, or it is to lead the next one.
        let wake = DispatchSemaphore(value: 0)
        init(_ items: [Item]) { self.items = items }
    }

    private let maxItems: Int
    private let write: Write
    private let retryAlone: @Sendable (any Error) -> Bool
    private let lock = NSLock()
    private var queue: [Entry] = []
    private var running = 0
    private let concurrency: Int

    /// `retryAlone` says whether a failed batch of several callers is written again caller by
    /// caller. The default (`mayRetry`) says yes, as an item of one caller may be what failed
    /// it, except when the batch may have committed (`PostgresError.commitOutcomeUnknown`).
    /// For writes whose failures are the batch's own, answer true only for the errors a retry
    /// cures (a deadlock, a connection found broken; a lost COMMIT only if the writes are safe
    /// to repeat) and false for the rest (a timeout): running each caller again, one after
    /// another, would keep every caller waiting far longer than the failure it reports.
    public init(maxItems: Int = 500, concurrency: Int = 2, retryAlone: @escaping @Sendable (any Error) -> Bool = CommitBatcher.mayRetry,
                write: @escaping Write) {
        self.maxItems = maxItems
        self.concurrency = concurrency
        self.retryAlone = retryAlone
        self.write = write
    }

    /// Returns once `items` are committed (with whatever else shared their transaction), or
    /// throws what failed them.
    @discardableResult
    public func submit(_ items: [Item], lend: Lend) throws -> [Outcome] {
        let entry = Entry(items)
        lock.lock()
        queue.append(entry)
        while entry.result == nil {
            // Lead a batch when one may start and this entry still waits in the queue (another
            // leader may have taken it meanwhile: then its batch's end wakes us).
            guard running < concurrency, queue.contains(where: { $0 === entry }) else {
                lock.unlock()
                entry.wake.wait()
                lock.lock()
                continue
            }
            running += 1
            entry.leading = true
            var batch: [Entry] = []
            var count = 0
            while let next = queue.first, batch.isEmpty || count + next.items.count <= maxItems {
                batch.append(queue.removeFirst())
                count += next.items.count
            }
            // What did not fit may start beside this batch.
            let beside = running < concurrency ? nextLeader() : nil
            lock.unlock()
            beside?.wake.signal()
            let results = run(batch, lend: lend)
            lock.lock()
            for (waiting, result) in zip(batch, results) { waiting.result = result }
            running -= 1
            entry.leading = false
            // Each caller of the batch, and the first still queued to lead the next; signalled
            // once the lock is free, so they do not wake only to wait for it. Waking every
            // waiting thread at each commit cost more in context switches than batches saved.
            let woken = batch.filter { $0 !== entry } + (nextLeader().map { [$0] } ?? [])
            lock.unlock()
            for waiting in woken { waiting.wake.signal() }
            lock.lock()
        }
        let result = entry.result!
        lock.unlock()
        return try result.get()
    }

    /// The default `retryAlone`: every failure but a COMMIT whose outcome is unknown.
    public static func mayRetry(_ error: any Error) -> Bool {
        (error as? PostgresError)?.commitOutcomeUnknown != true
    }

    /// Callers waiting for a batch to take them.
    public var queuedCallers: Int {
        lock.lock()
        defer { lock.unlock() }
        return queue.count
    }

    /// The first queued entry whose caller is waiting (not leading a batch of others).
    private func nextLeader() -> Entry? {
        queue.first { !$0.leading }
    }

    private func run(_ batch: [Entry], lend: Lend) -> [Result<[Outcome], any Error>] {
        do {
            let outcomes = try commit(batch.flatMap { $0.items }, lend: lend)
            var results: [Result<[Outcome], any Error>] = []
            var start = 0
            for entry in batch {
                results.append(.success(Array(outcomes[start..<start + entry.items.count])))
                start += entry.items.count
            }
            return results
        } catch {
            // Each caller alone, each in a transaction of its own on what the leader's `lend`
            // gives (a lend that borrows from a pool: a fresh connection each): a bad item
            // fails one caller, not all of them.
            if batch.count == 1 || !retryAlone(error) { return batch.map { _ in .failure(error) } }
            return batch.map { entry in Result { try commit(entry.items, lend: lend) } }
        }
    }

    private func commit(_ items: [Item], lend: Lend) throws -> [Outcome] {
        try lend { connection in
            try connection.transaction { connection in
                let outcomes = try write(items, connection)
                precondition(outcomes.count == items.count, "a batch write answers one outcome per item")
                return outcomes
            }
        }
    }
}

extension CommitBatcher where Outcome == Void {
    /// A batcher for writes that answer nothing but whether they committed.
    public convenience init(maxItems: Int = 500, concurrency: Int = 2, retryAlone: @escaping @Sendable (any Error) -> Bool = CommitBatcher.mayRetry,
                            write: @escaping @Sendable ([Item], Connection) throws -> Void) {
        self.init(maxItems: maxItems, concurrency: concurrency, retryAlone: retryAlone) { items, connection in
            try write(items, connection)
            return items.map { _ in () }
        }
    }
}
