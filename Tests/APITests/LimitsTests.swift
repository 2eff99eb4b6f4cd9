import Foundation
import TestSupport
import Testing
@testable import Dualhook

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

/// Bodies the API cannot take: the wrong type, or cut short.
@Suite(.serialized) struct BadBodyTests {
    @Test func aWrongContentTypeIs415AndATruncatedBodyWritesNothing() throws {
        let f = try APIFixture()
        defer { f.close() }
        for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
            let wrong = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                          headers: ["Content-Type": type, "Idempotency-Key": "k-\(type)"], body: Data(sessionBody().utf8))
            #expect(wrong.status == 415 && wrong.errorCode == "unsupported_media_type" && wrong.errorParam == "Content-Type", "\(type)")
        }
        let charset = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                        headers: ["Content-Type": "application/json; charset=utf-8", "Idempotency-Key": "k-text/plain"],
                                        body: Data(sessionBody().utf8))
        #expect(charset.status == 201, "the key a refused request carried is still free")

        // A body announced longer than what arrives, then the client goes away.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(f.server.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let body = Array(sessionBody().utf8)
        let head = "POST /api/v1/onboarding/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(f.account.apiKey)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        let partial = Array(head.utf8) + body.prefix(body.count / 2)
        #expect(write(fd, partial, partial.count) == partial.count)
        shutdown(fd, Int32(SHUT_WR))
        var buffer = [UInt8](repeating: 0, count: 256)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = read(fd, &buffer, buffer.count)
        #expect(try f.count("onboarding_sessions") == 1, "only the complete request wrote")
        #expect(try f.server.send("GET", "/healthz").status == 200)
    }
}

/// The media types a JSON body may be announced with.
@Suite struct JSONContentTypeTests {
    @Test func applicationJSONInAnyCaseWithParametersAndSpacesIsJSON() {
        for type in ["application/json", "Application/JSON", " application/json ; charset=utf-8", "application/json;charset=UTF-8",
                     "\tapplication/json\t"] {
            #expect(JSONBodyOnly.isJSON(type), "\(type)")
        }
        for type in [nil, "", "application/jsonx", "application/json-patch+json", "text/json", "application\u{0F}json",
                     "application/ json", "multipart/form-data; boundary=application/json"] {
            #expect(!JSONBodyOnly.isJSON(type), "\(type ?? "nil")")
        }
    }
}
