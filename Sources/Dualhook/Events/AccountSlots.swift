import Synchronization

/// How many deliveries of each account this worker process has in flight, so one account's
/// slow or dead endpoint holds at most `limit` of the process's slots and the rest keep
/// serving other accounts. Kept in memory: a killed process takes its counts with it, and no
/// delivery pays a database round trip for the bookkeeping.
final class AccountSlots: Sendable {
    let limit: Int
    private let inFlight = Mutex<[String: Int]>([:])
    /// Accounts whose endpoint failed its last attempt here: their slots free slowly.
    private let failing = Mutex<Set<String>>([])

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

    /// How long a job that found the account's slots taken should stay away.
    func snoozeDelay(_ account: String) -> Double {
        failing.withLock { $0.contains(account) } ? Double.random(in: 10...20) : Double.random(in: 0.5...2)
    }

    func noteOutcome(_ account: String, delivered: Bool) {
        failing.withLock { if delivered { $0.remove(account) } else { $0.insert(account) } }
    }

    func release(_ account: String) {
        inFlight.withLock { counts in
            let left = counts[account, default: 1] - 1
            counts[account] = left > 0 ? left : nil
        }
    }
}
