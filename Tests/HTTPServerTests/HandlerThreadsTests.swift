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
        try #require(eventually(timeout: 5) { order.withLock { $0 } == ["/first"] })
        for index in 1...3 {
            others.append(sendAside(server, "/then\(index)"))
            // Each request is queued before the next is sent.
            try #require(eventually(timeout: 5) { server.server.requestsInHand == index + 1 })
        }
        #expect(order.withLock { $0 } == ["/first"])
        release.signal()
        for request in [first] + others { #expect(request.done.wait(timeout: .now() + 10) == .success) }
        #expect(order.withLock { $0 } == ["/first", "/then1", "/then2", "/then3"])
        #expect(others.map(\.body) == ["/then1", "/then2", "/then3"])
    }

    @Test func stoppingAnswersTheRequestsAlreadyTaken() throws {
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        // One handler thread: the second request waits in the queue while the first runs.
        let server = try LoopbackServer(threads: 1, ioThreads: 1) { request in
            started.signal()
            _ = release.wait(timeout: .now() + 10)
            return .text(200, "done \(request.path)")
        }
        let running = sendAside(server, "/running")
        #expect(started.wait(timeout: .now() + 5) == .success)
        let queued = sendAside(server, "/queued")
        try #require(eventually(timeout: 5) { server.server.requestsInHand == 2 })
        let stopped = DispatchSemaphore(value: 0)
        Thread {
            server.stop()
            stopped.signal()
        }.start()
        try #require(eventually(timeout: 5) { !server.server.acceptsConnections })
        // Stopping, with both requests still in hand: a new connection is closed at once, unanswered
        // (not taken and left waiting until the deadline).
        do {
            let answer = try client.send(.init(url: server.base + "/during"), deadline: Date().addingTimeInterval(2))
            Issue.record("a connection made while stopping was answered \(answer.status)")
        } catch let error as HTTPClientError {
            #expect(error != .timedOut)
        }
        #expect(server.server.requestsInHand == 2)
        #expect(stopped.wait(timeout: .now() + 0.2) == .timedOut)
        release.signal()
        release.signal()
        for request in [running, queued] { #expect(request.done.wait(timeout: .now() + 10) == .success) }
        #expect(stopped.wait(timeout: .now() + 10) == .success)
        #expect(running.status == 200)
        #expect(running.body == "done /running")
        #expect(queued.status == 200)
        #expect(queued.body == "done /queued")
        // Stopped: no new connection is taken.
        #expect(throws: (any Error).self) { try client.send(.init(url: server.base + "/late"), deadline: Date().addingTimeInterval(2)) }
    }

    /// Stopped again and again while four clients keep sending, every answer that arrives
    /// being whole. A guard by repetition: `MHD_quiesce_daemon`, which `stop()` used before,
    /// aborted the process in two of three runs of 600 stops under such a load; these 60 stops
    /// catch its return only now and then, the test above for certain.
    @Test func stoppingUnderLoadNeverAbortsTheProcess() throws {
        var answered = 0
        var wrong = 0
        for _ in 0..<60 {
            let server = try LoopbackServer(threads: 2, ioThreads: 2) { _ in .text(200, "ok") }
            let done = Atomic<Bool>(false)
            let answers = Atomic<Int>(0), wrongAnswers = Atomic<Int>(0)
            let clients = DispatchGroup()
            for _ in 0..<4 {
                clients.enter()
                let client = client
                Thread {
                    while !done.load(ordering: .relaxed) {
                        guard let answer = try? client.send(.init(url: server.base + "/x"), deadline: Date().addingTimeInterval(1)) else { continue }
                        if answer.status == 200 && String(decoding: answer.body, as: UTF8.self) == "ok" {
                            answers.add(1, ordering: .relaxed)
                        } else {
                            wrongAnswers.add(1, ordering: .relaxed)
                        }
                    }
                    clients.leave()
                }.start()
            }
            _ = eventually(timeout: 2) { answers.load(ordering: .relaxed) > 0 }
            server.stop()
            done.store(true, ordering: .relaxed)
            clients.wait()
            answered += answers.load(ordering: .relaxed)
            wrong += wrongAnswers.load(ordering: .relaxed)
        }
        #expect(wrong == 0)
        #expect(answered >= 60, "each server answered before it stopped")
    }

    @Test func anImmediatePathOrPrefixIsAnsweredWhileEveryHandlerThreadWaits() throws {
        let release = DispatchSemaphore(value: 0)
        let server = try LoopbackServer(threads: 1, ioThreads: 1, immediatePaths: ["/healthz"], immediatePrefixes: ["/hooks/"]) { request in
            if request.path == "/held" { _ = release.wait(timeout: .now() + 10) }
            return .text(200, request.path)
        }
        defer { server.stop() }
        let held = sendAside(server, "/held")
        try #require(eventually(timeout: 5) { server.server.requestsInHand == 1 })
        let health = try client.send(.init(url: server.base + "/healthz"), deadline: Date().addingTimeInterval(2))
        #expect(health.status == 200)
        #expect(String(decoding: health.body, as: UTF8.self) == "/healthz")
        // So is any path under an immediate prefix.
        let hook = try client.send(.init(method: "POST", url: server.base + "/hooks/events", body: Data("{}".utf8)), deadline: Date().addingTimeInterval(2))
        #expect(hook.status == 200 && String(decoding: hook.body, as: UTF8.self) == "/hooks/events")
        // Another path waits for the handler thread, the prefix's own path without its slash too.
        let other = sendAside(server, "/hooks")
        try #require(eventually(timeout: 5) { server.server.requestsInHand == 2 })
        #expect(other.status == nil)
        release.signal()
        for request in [held, other] { #expect(request.done.wait(timeout: .now() + 10) == .success) }
        #expect(other.body == "/hooks")
    }

    @Test func aBodyOverTheLimitIsAnsweredWithoutAHandlerThread() throws {
        let release = DispatchSemaphore(value: 0)
        // The only handler thread is held: the 413 is answered on libmicrohttpd's thread.
        let server = try LoopbackServer(threads: 1, ioThreads: 1, maxBodyBytes: 16) { _ in
            _ = release.wait(timeout: .now() + 10)
            return .text(200, "handled")
        }
        defer { server.stop() }
        let held = sendAside(server, "/held")
        try #require(eventually(timeout: 5) { server.server.requestsInHand == 1 })
        let answer = try client.send(.init(method: "POST", url: server.base + "/big", body: Data(repeating: 0x61, count: 64)),
                                     deadline: Date().addingTimeInterval(2))
        #expect(answer.status == 413)
        release.signal()
        #expect(held.done.wait(timeout: .now() + 10) == .success)
        #expect(held.body == "handled")
    }
}
