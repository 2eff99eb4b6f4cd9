import CPostgres
import Foundation

/// A notification received through LISTEN.
public struct Notification: Sendable, Equatable {
    public let channel: String
    public let payload: String

    public init(channel: String, payload: String) {
        self.channel = channel
        self.payload = payload
    }
}

/// LISTEN/NOTIFY on a dedicated connection. `wait` sleeps in `poll(2)` on the connection's
/// socket, so a notification wakes the caller immediately and an idle listener costs nothing.
///
/// Not thread-safe by design: one thread owns a listener.
public final class Listener {
    public let connection: Connection

    public init(connection: Connection) {
        self.connection = connection
    }

    public convenience init(url: String, applicationName: String = "dualhook-listener") throws {
        self.init(connection: try Connection.connect(url, applicationName: applicationName))
    }

    public func listen(_ channel: String) throws {
        try connection.execute("LISTEN \(try connection.quoteIdentifier(channel))")
    }

    public func unlisten(_ channel: String) throws {
        try connection.execute("UNLISTEN \(try connection.quoteIdentifier(channel))")
    }

    /// Returns the notifications that arrive within `timeout` seconds (possibly none). Throws
    /// `connectionLost` when the session dies, so the owner can reconnect.
    public func wait(timeout: TimeInterval) throws -> [Notification] {
        var received = drain()
        if !received.isEmpty { return received }
        let deadline = Date().addingTimeInterval(timeout)
        while received.isEmpty {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { break }
            let ready = dh_pq_wait_readable(connection.handle, Int32(max(1, (remaining * 1000).rounded(.up))))
            if ready < 0 {
                if errno == EINTR { continue }
                throw PostgresError(.connectionLost, "listener socket failed")
            }
            if ready == 0 { break }
            if PQconsumeInput(connection.handle) == 0 || connection.isBroken {
                throw PostgresError(.connectionLost, Connection.errorMessage(connection.handle))
            }
            received = drain()
        }
        return received
    }

    private func drain() -> [Notification] {
        var out: [Notification] = []
        _ = PQconsumeInput(connection.handle)
        while let notify = PQnotifies(connection.handle) {
            out.append(Notification(
                channel: String(cString: notify.pointee.relname),
                payload: String(cString: notify.pointee.extra)))
            PQfreemem(notify)
        }
        return out
    }
}
