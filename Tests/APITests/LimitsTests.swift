import Foundation
import TestSupport
import Testing

/// What libmicrohttpd enforces for us: header size and clients that stall.
@Suite(.serialized) struct LimitsTests {
    @Test func oversizedHeadersAndStalledClientsAreCutOff() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        let server = try APIServer(databaseURL: db.url, extraArguments: ["--idle-timeout", "2"])
        defer { server.stop() }
        let big = try server.send("GET", "/healthz", headers: ["X-Big": String(repeating: "a", count: 100_000)])
        #expect(big.status == 431)

        // A client that sends half a request line and stops is disconnected after the timeout.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(server.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        let partial = Array("GET /healthz HTTP/1.1\r\nHost: x\r\n".utf8)
        #expect(write(fd, partial, partial.count) == partial.count)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let started = Date()
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, buffer.count)
        let waited = Date().timeIntervalSince(started)
        #expect(n == 0, "the server closes the connection")
        #expect(waited >= 1.5 && waited < 8, "after about the idle timeout, was \(waited) s")
        // The server is still serving everyone else.
        #expect(try server.send("GET", "/healthz").status == 200)
    }
}
