import Foundation
@testable import HTTPClient
import HTTPServer
import TestSupport
import Testing

/// The behaviours the client is tested against, served by a `LoopbackServer`.
enum Target {
    static func handle(_ request: Request) -> Response {
        switch request.path {
        case "/ok": return .text(200, "hello")
        case "/echo":
            let text = "\(request.method) \(request.header("X-Probe") ?? "-") \(String(decoding: request.body, as: UTF8.self))"
            return .text(200, text)
        case "/redirect": return Response(status: 302, headers: [("Location", "/ok")])
        case "/slow":
            Thread.sleep(forTimeInterval: 3)
            return .text(200, "late")
        case "/big": return Response(status: 200, body: Data(repeating: 0x61, count: 3 << 20))
        default: return .text(404, "no")
        }
    }
}

/// Lets requests through once `count` of them have arrived.
final class Barrier: @unchecked Sendable {
    // `@unchecked Sendable`: `arrived` is guarded by `condition`.
    private let condition = NSCondition()
    private var arrived = 0
    let count: Int
    init(count: Int) { self.count = count }

    /// Whether `count` arrived within `seconds` of this one.
    func arrive(waiting seconds: TimeInterval) -> Bool {
        let until = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        condition.broadcast()
        while arrived < count && condition.wait(until: until) {}
        return arrived >= count
    }
}

@Suite(.serialized) struct HTTPClientTests {
    let client = HTTPClient(allowPrivateTargets: true, maxResponseBytes: 1 << 20)

    func deadline(_ seconds: Double = 5) -> Date { Date().addingTimeInterval(seconds) }

    @Test func sendsMethodHeadersAndBodyAndReadsTheAnswer() throws {
        let target = try LoopbackServer(Target.handle)
        defer { target.stop() }
        let ok = try client.send(.init(url: target.base + "/ok"), deadline: deadline())
        #expect(ok.status == 200 && String(decoding: ok.body, as: UTF8.self) == "hello")
        #expect(ok.header("Request-Id")?.hasPrefix("req_") == true)
        let echo = try client.send(.init(method: "POST", url: target.base + "/echo", headers: [("X-Probe", "p1")],
                                         body: Data("payload".utf8)), deadline: deadline())
        #expect(String(decoding: echo.body, as: UTF8.self) == "POST p1 payload")
        let put = try client.send(.init(method: "DELETE", url: target.base + "/echo"), deadline: deadline())
        #expect(String(decoding: put.body, as: UTF8.self) == "DELETE - ")
    }

    @Test func aRedirectIsAnAnswerNotAHop() throws {
        let target = try LoopbackServer(Target.handle)
        defer { target.stop() }
        let response = try client.send(.init(url: target.base + "/redirect"), deadline: deadline())
        #expect(response.status == 302)
        #expect(response.header("Location") == "/ok")
    }

    @Test func theDeadlineStopsASlowAnswer() throws {
        let target = try LoopbackServer(Target.handle)
        defer { target.stop() }
        let started = Date()
        #expect(throws: HTTPClientError.timedOut) { try client.send(.init(url: target.base + "/slow"), deadline: deadline(0.5)) }
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(throws: HTTPClientError.timedOut) { try client.send(.init(url: target.base + "/ok"), deadline: Date()) }
    }

    @Test func aBatchIsSentAtOnceAndAnsweredInOrder() throws {
        // Each `/together` answers "together" only once three requests are in at the same time.
        let barrier = Barrier(count: 3)
        let target = try LoopbackServer(threads: 8) { request in
            request.path == "/together" ? .text(200, barrier.arrive(waiting: 3) ? "together" : "alone") : Target.handle(request)
        }
        defer { target.stop() }
        let together = client.sendAll(Array(repeating: .init(url: target.base + "/together"), count: 3), deadline: deadline())
        #expect(try together.map { String(decoding: try $0.get().body, as: UTF8.self) } == ["together", "together", "together"])
        let started = Date()
        let results = client.sendAll([
            .init(url: target.base + "/slow"),
            .init(method: "POST", url: target.base + "/echo", headers: [("X-Probe", "p2")], body: Data("batched".utf8)),
            .init(url: "not a url"),
            .init(url: target.base + "/slow"),
            .init(url: target.base + "/redirect"),
        ], deadline: deadline(1))
        // Each slow answer stops at the deadline; the rest are answered meanwhile.
        #expect(Date().timeIntervalSince(started) < 2.5)
        #expect(results.count == 5)
        #expect(throws: HTTPClientError.timedOut) { try results[0].get() }
        #expect(String(decoding: try results[1].get().body, as: UTF8.self) == "POST p2 batched")
        #expect(throws: HTTPClientError.invalidURL) { try results[2].get() }
        #expect(throws: HTTPClientError.timedOut) { try results[3].get() }
        #expect(try results[4].get().status == 302)
        // The same handles again: nothing of an earlier batch's options carries over (a HEAD's
        // no-body, a POST's body and method).
        let first = client.sendAll([.init(method: "HEAD", url: target.base + "/echo"),
                                    .init(method: "POST", url: target.base + "/echo", body: Data("kept?".utf8))], deadline: deadline())
        #expect(try first[0].get().body.isEmpty && first[0].get().status == 200)
        let again = client.sendAll([.init(url: target.base + "/echo"), .init(url: target.base + "/echo"),
                                    .init(method: "DELETE", url: target.base + "/echo")], deadline: deadline())
        #expect(try again.map { String(decoding: try $0.get().body, as: UTF8.self) } == ["GET - ", "GET - ", "DELETE - "])
        #expect(client.sendAll([], deadline: deadline()).isEmpty)
    }

    /// Answers come as their transfers end, in groups gathered for at most `gather`: the quick
    /// ones and the refused one together, long before the slow one, which comes alone at the
    /// deadline. One request at a time would answer the slow one first.
    @Test func quickAnswersComeTogetherBeforeASlowOne() throws {
        let target = try LoopbackServer(threads: 8) { Target.handle($0) }
        defer { target.stop() }
        let started = Date()
        var groups: [(at: TimeInterval, indices: [Int])] = []
        var results: [Int: Result<HTTPClient.Response, HTTPClientError>] = [:]
        client.sendAll([.init(url: target.base + "/slow"), .init(url: target.base + "/echo"), .init(url: "not a url"),
                        .init(url: target.base + "/ok")], deadline: deadline(2), gather: 0.5) { answers in
            groups.append((Date().timeIntervalSince(started), answers.map(\.0).sorted()))
            for (i, result) in answers { results[i] = result }
        }
        #expect(groups.map(\.indices) == [[1, 2, 3], [0]])
        #expect(groups.count == 2 && groups[0].at >= 0.45 && groups[0].at < 1.5 && groups[1].at >= 1.9, "\(groups)")
        #expect(String(decoding: try #require(results[1]).get().body, as: UTF8.self) == "GET - ")
        #expect(throws: HTTPClientError.invalidURL) { try results[2]?.get() }
        #expect(throws: HTTPClientError.timedOut) { try results[0]?.get() }
    }

    @Test func aBatchKeepsTheTargetRulesOfASingleCall() {
        let strict = HTTPClient(allowPrivateTargets: false)
        let results = strict.sendAll([.init(url: "http://example.com/"), .init(url: "https://127.0.0.1/")], deadline: deadline())
        #expect(throws: HTTPClientError.schemeNotAllowed("http")) { try results[0].get() }
        #expect(throws: HTTPClientError.blockedAddress(host: "127.0.0.1")) { try results[1].get() }
    }

    @Test func theBodyIsCapturedUpToTheBound() throws {
        let target = try LoopbackServer(Target.handle)
        defer { target.stop() }
        let response = try client.send(.init(url: target.base + "/big"), deadline: deadline())
        #expect(response.truncated)
        #expect(response.body.count == 1 << 20)
    }

    @Test func privateAndPlainTargetsAreRefusedUnlessAllowed() throws {
        let strict = HTTPClient()
        for url in ["https://127.0.0.1/", "https://10.0.0.1/", "https://169.254.169.254/latest/meta-data",
                    "https://[::1]/", "https://localhost/", "https://[::ffff:127.0.0.1]/", "https://100.64.0.1/"] {
            #expect(throws: HTTPClientError.self, "\(url)") { try strict.send(.init(url: url), deadline: deadline()) }
            do {
                _ = try strict.send(.init(url: url), deadline: deadline())
            } catch let error as HTTPClientError {
                if case .blockedAddress = error {} else { Issue.record("\(url): \(error)") }
            }
        }
        #expect(throws: HTTPClientError.schemeNotAllowed("http")) { try strict.send(.init(url: "http://example.com/"), deadline: deadline()) }
        #expect(throws: HTTPClientError.schemeNotAllowed("ftp")) { try strict.send(.init(url: "ftp://example.com/"), deadline: deadline()) }
        #expect(throws: HTTPClientError.invalidURL) { try strict.send(.init(url: "not a url"), deadline: deadline()) }
    }

    @Test func addressClassification() {
        for address in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "157.240.1.35"] {
            #expect(AddressPolicy.isPublic(address), "\(address)")
        }
        for address in ["0.0.0.0", "10.1.2.3", "100.100.1.1", "127.0.0.1", "169.254.169.254", "172.16.0.1", "172.31.255.255",
                        "192.168.1.1", "192.0.2.5", "198.18.0.1", "224.0.0.1", "255.255.255.255", "::", "::1", "fe80::1",
                        "fd00::1", "ff02::1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2001:db8::1", "garbage"] {
            #expect(!AddressPolicy.isPublic(address), "\(address)")
        }
        #expect(AddressPolicy.isPublic("172.32.0.1"))
        #expect(AddressPolicy.isPublic("100.128.0.1"))
    }
}

/// Header lines as curl hands them over, one at a time with their CRLF.
@Suite struct ResponseHeaderTests {
    func parse(_ lines: [String]) -> [String: String] {
        let sink = ResponseSink(limit: 0)
        for line in lines {
            var bytes = Array(line.utf8CString)
            bytes.withUnsafeMutableBufferPointer { sink.header($0.baseAddress!, line.utf8.count) }
        }
        return sink.headers
    }

    @Test func namesAreLowercasedAndValuesTrimmedOfSpacesTabsAndLineEnds() {
        let headers = parse(["HTTP/1.1 503 Service Unavailable\r\n", "Retry-After:  \t120 \r\n", "X-Note: a: b\r\n",
                             "Empty:\r\n", "no colon here\r\n", "\r\n"])
        #expect(headers == ["retry-after": "120", "x-note": "a: b", "empty": ""])
    }

    @Test func aNewStatusLineStartsTheHeadersAfresh() {
        let headers = parse(["HTTP/1.1 100 Continue\r\n", "X-First: 1\r\n", "\r\n", "HTTP/1.1 200 OK\r\n", "X-Second: 2\r\n"])
        #expect(headers == ["x-second": "2"])
    }
}
