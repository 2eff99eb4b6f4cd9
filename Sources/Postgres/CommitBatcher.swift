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
/// their own, so one caller's bad items (or a connection found broken) fail only that caller.
///
/// `@unchecked Sendable`: `queue` and `running` are read and written only under `condition`;
/// an entry's `result` is written under it and read by its caller under it.
public final class CommitBatcher<Item: Sendable, Outcome: Sendable>: @unchecked Sendable {
    /// Writes `items` in the transaction it is given and answers one outcome per item, in order.
    public typealias Write = @Sendable ([Item], Connection) throws -> [Outcome]
    /// Lends the leading caller's connection (with whatever settings that caller's work runs
    /// under, a job's statement timeout say) for the time of `body`.
    public typealias Lend = ((Connection) throws -> [Outcome]) throws -> [Outcome]

    private final class Entry {
        let items: [Item]
        var result: Result<[Outcome], any Error>?
        /// Wakes this entry's caller alone: its batch ended, or it is to lead the next one.
        let wake = DispatchSemaphore(value: 0)
        init(_ items: [Item]) { self.items = items }
    }

    private let maxItems: Int
    private let write: Write
    private let condition = NSCondition()
    private var queue: [Entry] = []
    private var running = 0
    private let concurrency: Int

    public init(maxItems: Int = 500, concurrency: Int = 2, write: @escaping Write) {
        self.maxItems = maxItems
        self.concurrency = concurrency
        self.write = write
    }

    /// Returns once `items` are committed (with whatever else shared their transaction), or
    /// throws what failed them.
    @discardableResult
    public func submit(_ items: [Item], lend: Lend) throws -> [Outcome] {
        let entry = Entry(items)
        condition.lock()
        queue.append(entry)
        while entry.result == nil {
            // Lead a batch when one may start and this entry still waits in the queue (another
            // leader may have taken it meanwhile: then its batch's end wakes us).
            guard running < concurrency, queue.contains(where: { $0 === entry }) else {
                condition.unlock()
                entry.wake.wait()
                condition.lock()
                continue
            }
            running += 1
            var batch: [Entry] = []
            var count = 0
            while let next = queue.first, batch.isEmpty || count + next.items.count <= maxItems {
                batch.append(queue.removeFirst())
                count += next.items.count
            }
            // What did not fit may start beside this batch.
            if running < concurrency { queue.first?.wake.signal() }
            condition.unlock()
            let results = run(batch, lend: lend)
            condition.lock()
            for (waiting, result) in zip(batch, results) { waiting.result = result }
            running -= 1
            // Each caller of the batch, and the first still queued to lead the next: waking
            // every waiting thread at each commit cost more in context switches than the
            // batches saved.
            for waiting in batch where waiting !== entry { waiting.wake.signal() }
            queue.first?.wake.signal()
        }
        condition.unlock()
        return try entry.result!.get()
    }

    private func run(_ batch: [Entry], lend: Lend) -> [Result<[Outcome], any Error>] {
        do {
            let outcomes = try commit(batch.flatMap(\.items), lend: lend)
            var results: [Result<[Outcome], any Error>] = []
            var start = 0
            for entry in batch {
                results.append(.success(Array(outcomes[start..<start + entry.items.count])))
                start += entry.items.count
            }
            return results
        } catch {
            // Each caller alone, each on a connection lent afresh: a bad item or a connection
            // lost fails one caller, not all of them.
            if batch.count == 1 { return [.failure(error)] }
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
    public convenience init(maxItems: Int = 500, concurrency: Int = 2, write: @escaping @Sendable ([Item], Connection) throws -> Void) {
        self.init(maxItems: maxItems, concurrency: concurrency) { items, connection in
            try write(items, connection)
            return items.map { _ in () }
        }
    }
}
