import Foundation

/// A bounded pool of connections, opened lazily.
///
/// A caller that finds every connection lent out waits up to `acquireTimeout` and then gets
/// `poolTimeout`. A connection comes back broken (or with a transaction left open) is closed
/// and replaced by a fresh one on the next demand, never handed out again; so is an idle one
/// whose session the server ended meanwhile (`Connection.endedWhileIdle`), so a restart or a
/// killed backend costs no caller a failed statement.
///
/// `@unchecked Sendable`: every mutable field is read and written only while holding
/// `condition`'s lock.
public final class ConnectionPool: @unchecked Sendable {
    public let url: String
    public let maxConnections: Int
    public let acquireTimeout: TimeInterval
    public let applicationName: String

    private let condition = NSCondition()
    private var idle: [Connection] = []
    private var open = 0
    private var isShutDown = false

    public init(url: String, maxConnections: Int = 10, acquireTimeout: TimeInterval = 5, applicationName: String = "dualhook") {
        precondition(maxConnections > 0)
        self.url = url
        self.maxConnections = maxConnections
        self.acquireTimeout = acquireTimeout
        self.applicationName = applicationName
    }

    deinit { shutdown() }

    /// Lends a connection to `body` and takes it back afterwards.
    @discardableResult
    public func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try acquire()
        defer { release(connection) }
        return try body(connection)
    }

    /// `withConnection` + `transaction`: one transaction on a pooled connection.
    @discardableResult
    public func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        try withConnection { try $0.transaction(body) }
    }

    /// Statistics for metrics and tests.
    public var stats: (open: Int, idle: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (open, idle.count)
    }

    public func acquire() throws -> Connection {
        let deadline = Date().addingTimeInterval(acquireTimeout)
        condition.lock()
        while true {
            if isShutDown {
                condition.unlock()
                throw PostgresError(.connectionFailed, "the connection pool is shut down")
            }
            if let connection = idle.popLast() {
                condition.unlock()
                if connection.endedWhileIdle {
                    discard(connection)
                    condition.lock()
                    continue
                }
                return connection
            }
            if open < maxConnections {
                open += 1
                condition.unlock()
                do {
                    return try Connection.connect(url, applicationName: applicationName)
                } catch {
                    condition.lock()
                    open -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            if !condition.wait(until: deadline) {
                condition.unlock()
                throw PostgresError(.poolTimeout, "no database connection became free within \(acquireTimeout) s")
            }
        }
    }

    public func release(_ connection: Connection) {
        if connection.isBroken || connection.isInTransaction {
            discard(connection)
            return
        }
        condition.lock()
        if isShutDown {
            condition.unlock()
            discard(connection)
            return
        }
        idle.append(connection)
        condition.signal()
        condition.unlock()
    }

    /// Closes every idle connection; lent ones are closed when they come back.
    public func shutdown() {
        condition.lock()
        isShutDown = true
        let toClose = idle
        idle.removeAll()
        open -= toClose.count
        condition.broadcast()
        condition.unlock()
        for connection in toClose { connection.close() }
    }

    private func discard(_ connection: Connection) {
        connection.close()
        condition.lock()
        open -= 1
        condition.signal()
        condition.unlock()
    }
}
