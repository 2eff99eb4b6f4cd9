import Foundation
import HTTPClient
import HTTPServer
import Synchronization
import Testing
import TestSupport

/// Handlers run on threads of their own while their connection waits suspended, so one
/// libmicrohttpd thread serves every connection, whatever its handlers wait for.
@Suite struct HandlerThreadsTests {
    let client = HTTPClient(allowPrivateTargets: true)

    /// A request sent on a thread of its own (a curl handle, so a connection, of its own).
    final class Aside: Sendable {
        let done = DispatchSemaphore(value: 0)
        let answer = Mutex<(status: Int, body: String)?>(nil)
        var status: Int? { answer.withLock { $0?.status } }
        var body: String? { answer.withLock { $0?.body } }
    }

    func sendAside(_ server: LoopbackServer, _ path: String) -> Aside {
        let aside = Aside()
        let client = client
        Thread {
            if let response = try? client.send(.init(url: server.base + path), deadline: Date().addingTimeInterval(10)) {
                aside.answer.withLock { $0 = (response.status, String(decoding: response.body, as: UTF8.self)) }
            }
            aside.done.signal()
        }.start()
        return aside
    }

    @Test func aWaitingHandlerHoldsNoConnectionButItsOwn() throws {
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        // One libmicrohttpd thread: when handlers ran on it, /fast waited for /slow's handler.
        let server = try LoopbackServer(threads: 2, ioThreads: 1) { request in
            if request.path == "/slow" {
                started.signal()
                _ = release.wait(timeout: .now() + 10)
            }
            return .text(200, request.path)
        }
        defer { server.stop() }
        let slow = sendAside(server, "/slow")
        #expect(started.wait(timeout: .now() + 5) == .success)

        let fast = try client.send(.init(url: server.base + "/fast"), deadline: Date().addingTimeInterval(2))
        #expect(fast.status == 200)
        #expect(String(decoding: fast.body, as: UTF8.self) == "/fast")
        #expect(slow.status == nil, "/slow is still waiting for its handler")

        release.signal()
        #expect(slow.done.wait(timeout: .now() + 10) == .success)
        #expect(slow.status == 200)
        #expect(slow.body == "/slow")
    }

    @Test func requestsWaitingForAThreadAreAnsweredInTurn() throws {
        let release = DispatchSemaphore(value: 0)
        let order = Mutex<[String]>([])
        // One handler thread, held by /first: the others queue behind it.
        let server = try LoopbackServer(threads: 1, ioThreads: 2) { request in
            order.withLock { $0.append(request.path) }
            if request.path == "/first" { _ = release.wait(timeout: .now() + 10) }
            return .text(200, request.path)
        }
        defer { server.stop() }
        let first = sendAside(server, "/first")
        var others: [Aside] = []
        while order.withLock({ $0 }) != ["/first"] { usleep(1000) }
        for index in 1...3 {
            others.append(sendAside(server, "/then\(index)"))
            usleep(100_000)  // each request is in before the next is sent
        }
        #expect(order.withLock { $0 } == ["/first"])
        release.signal()
        for request in [first] + others { #expect(request.done.wait(timeout: .now() + 10) == .success) }
        #expect(order.withLock { $0 } == ["/first", "/then1", "/then2", "/then3"])
        #expect(others.map(\.body) == ["/then1", "/then2", "/then3"])
    }

    @Test func stoppingAnswersTheRequestsAlreadyTaken() throws {
        let started = DispatchSemaphore(value: 0)
        let server = try LoopbackServer(threads: 2, ioThreads: 1) { request in
            started.signal()
            Thread.sleep(forTimeInterval: 0.3)
            return .text(200, "done")
        }
        let request = sendAside(server, "/")
        #expect(started.wait(timeout: .now() + 5) == .success)
        server.stop()
        #expect(request.done.wait(timeout: .now() + 10) == .success)
        #expect(request.status == 200)
        #expect(request.body == "done")
    }
}
