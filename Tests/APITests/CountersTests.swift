import Foundation
import Testing
@testable import Dualhook

/// A TCP listener on loopback that takes connections and never says a word: a database that
/// stopped answering, as a client waiting on it sees one.
final class SilentListener: @unchecked Sendable {
    // `@unchecked Sendable`: `fd` and `port` are set once in init; `close()` runs once, at the end.
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, listen(fd, 8) == 0 else { Glibc.close(fd); throw CocoaError(.fileWriteUnknown) }
        self.fd = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    /// Whether a client connected (it waits in the backlog, never accepted, never answered).
    func waitForClient(timeout: TimeInterval) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, Int32(timeout * 1000)) == 1
    }

    /// Ends the silence: the waiting client's connection is reset.
    func close() { Glibc.close(fd) }
}

@Suite struct CountersTests {
    /// A clean stop's last flush waits for a flush already under way, but not for one stuck on
    /// a database that stopped answering: the stop goes on, and says what was not written.
    @Test func aCleanStopDoesNotHangOnAFlushStuckOnADeadDatabase() throws {
        let silent = try SilentListener()
        defer { silent.close() }
        let counters = Counters()
        counters.add("dualhook_test_total")
        // The URL's own connect_timeout wins over the default 5 s: this flush waits a minute.
        let url = "postgres://dualhook@127.0.0.1:\(silent.port)/dualhook?connect_timeout=60"
        let flusher = Thread { _ = counters.flush(url: url, nil) }
        flusher.start()
        #expect(silent.waitForClient(timeout: 10), "the flush is connecting, holding the flush lock")
        let started = Date()
        counters.finish(databaseURL: url, waiting: 1)
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 0.9 && waited < 30, "the stop waited about 1 s for the stuck flush, not its minute: \(waited) s")
    }
}
