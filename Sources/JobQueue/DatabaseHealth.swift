import Foundation
import Logging
import Postgres
import Synchronization

/// Tracks whether the database is reachable, logs one line per change of state (never one per
/// failed attempt), and hands out the backoff before the next attempt.
final class DatabaseHealth: Sendable {
    private struct State {
        var reachable = true
        var failures = 0
    }
    private let state = Mutex(State())
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    var isReachable: Bool { state.withLock { $0.reachable } }

    /// Records a failure; returns how long the caller should wait before trying again. Only a
    /// lost or refused connection changes the state; any other error (a bug, a bad statement)
    /// is logged every time it happens.
    func failed(_ error: Error, during activity: String) -> TimeInterval {
        if let error = error as? PostgresError, !error.isConnectivity {
            logger.error("database error", ["during": activity, "error": "\(error)"])
            return Double.random(in: 0.8...1.2)
        }
        let (changed, failures) = state.withLock { s -> (Bool, Int) in
            s.failures += 1
            let changed = s.reachable
            s.reachable = false
            return (changed, s.failures)
        }
        if changed {
            logger.error("database unavailable; retrying with backoff", ["during": activity, "error": "\(error)"])
        }
        let base = min(0.25 * pow(2, Double(min(failures - 1, 6))), 10)
        return base * Double.random(in: 0.8...1.2)
    }

    func succeeded() {
        let changed = state.withLock { s -> Bool in
            let changed = !s.reachable
            s.reachable = true
            s.failures = 0
            return changed
        }
        if changed { logger.info("database available again") }
    }
}
