import Foundation
import Postgres

/// The worker's pool as a handler sees it: every connection it lends runs its statements with
/// `statement_timeout` set to what is left of the attempt's deadline, so a handler stuck in a
/// database call (a lock wait, a runaway query) is cut at its deadline and retried, instead of
/// holding a worker slot, a connection and its locks. The setting travels with the lend's
/// first statement and is reset with the next borrower's (the engine's own claims and
/// completions share the pool), so neither costs a round trip.
public struct JobDatabase: Sendable {
    let pool: ConnectionPool
    let deadline: Date

    public init(pool: ConnectionPool, deadline: Date) {
        self.pool = pool
        self.deadline = deadline
    }

    /// Milliseconds left, at least 1 (0 would mean no limit at all).
    var remainingMilliseconds: Int { max(1, Int((deadline.timeIntervalSinceNow * 1000).rounded(.up))) }

    @discardableResult
    public func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        try pool.withConnection { connection in
            // Set ahead of the first statement, in its round trip; the next borrower's first
            // statement resets it the same way.
            connection.statementTimeout = remainingMilliseconds
            defer {
                connection.statementTimeout = nil
                // A transaction left open must not reach the engine's own statements.
                if !connection.isBroken && connection.isInTransaction { connection.close() }
            }
            return try body(connection)
        }
    }

    /// A connection whose statements get `seconds` of statement timeout rather than what is
    /// left of this job's deadline: for work done on behalf of several jobs at once (a batch of
    /// writes one of them leads), which must not fail because the leading job is nearly out of time.
    @discardableResult
    public func withConnection<T>(statementTimeout seconds: TimeInterval, _ body: (Connection) throws -> T) throws -> T {
        try JobDatabase(pool: pool, deadline: Date().addingTimeInterval(seconds)).withConnection(body)
    }

    /// `withConnection` + `transaction`.
    @discardableResult
    public func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        try withConnection { try $0.transaction(body) }
    }
}
