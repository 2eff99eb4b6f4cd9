import Synchronization

/// How many deliveries of each account this worker process has in flight, so one account's
/// slow or dead endpoint holds at most `limit` of the process's slots and the rest keep
/// serving other accounts. Kept in memory: a killed process takes its counts with it, and no
/// delivery pays a database round trip for the bookkeeping.
final class AccountSlots: Sendable {
    let limit: Int
    private let inFlight = Mutex<[String: Int]>([:])

    init(limit: Int) { self.limit = limit }

    /// Takes a slot for the account, or says no when all of its slots are taken.
    func acquire(_ account: String) -> Bool {
        inFlight.withLock { counts in
            let current = counts[account, default: 0]
            guard current < limit else { return false }
            counts[account] = current + 1
            return true
        }
    }

    func release(_ account: String) {
        inFlight.withLock { counts in
            let left = counts[account, default: 1] - 1
            counts[account] = left > 0 ? left : nil
        }
    }
}
