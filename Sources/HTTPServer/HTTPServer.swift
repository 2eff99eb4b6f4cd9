import CMicroHTTPD
import Foundation
import Logging
import Synchronization

/// An HTTP/1.1 server on libmicrohttpd: a few epoll threads that read requests and write
/// answers (and run no handler but the 413's, the immediate paths', and late ones while
/// stopping), keep-alive, and limits on body size, memory per connection (which bounds headers),
/// idle time and connection count. Handlers run on threads of their own (`HandlerThreads`),
/// in the order requests arrived, and may block (database calls): the connection waits
/// suspended meanwhile, and the other connections are served on.
///
/// `@unchecked Sendable`: configuration and handler are immutable; `daemon` and `handlers` are
/// set once by `start()` before any request can arrive and cleared by `stop()` after the
/// daemon is gone.
public final class HTTPServer: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: UInt16
        /// Threads that run handlers (each may block on a database call).
        public var threads: Int = 8
        /// libmicrohttpd's epoll threads: they read requests and send answers.
        public var ioThreads: Int = 2
        /// Paths answered on libmicrohttpd's thread at once, never queued for a handler thread:
        /// their handler must not block. For a liveness probe, which must answer while every
        /// handler thread waits (on a database that stopped answering, say), and which a
        /// hand-over to another thread and back would only slow down.
        public var immediatePaths: Set<String> = []
        /// Path prefixes answered the same way (every handler under them must not block).
        public var immediatePrefixes: [String] = []
        public var maxBodyBytes: Int = 1 << 20
        /// Per-connection memory: request line and headers must fit (MHD answers 431 past it).
        public var connectionMemoryBytes: Int = 64 * 1024
        /// Seconds a connection may stay idle or dribble bytes before it is closed.
        public var connectionTimeout: Int = 30
        public var maxConnections: Int = 1000

        public init(host: String, port: UInt16) {
            self.host = host
            self.port = port
        }

        /// `host:port`.
        public init?(listen: String) {
            guard let colon = listen.lastIndex(of: ":"), let port = UInt16(listen[listen.index(after: colon)...]) else { return nil }
            self.init(host: String(listen[..<colon]), port: port)
        }

        func answersAtOnce(_ path: String) -> Bool {
            immediatePaths.contains(path) || immediatePrefixes.contains { path.hasPrefix($0) }
        }
    }

    public let configuration: Configuration
    let runner: RequestRunner
    public var metrics: HTTPMetrics { runner.metrics }
    private var daemon: OpaquePointer?
    var handlers: HandlerThreads?
    /// Set by `start()`, cleared as `stop()` begins: connections accepted while it is clear are
    /// closed at once (`acceptPolicy`).
    let accepting = Atomic<Bool>(false)
    /// From `start()` until `stop()` begins.
    public var acceptsConnections: Bool { accepting.load(ordering: .sequentiallyConsistent) }

    /// Requests queued for a handler thread or running on one.
    public var requestsInHand: Int { handlers?.count ?? 0 }
    /// Requests whose connection was suspended and whose answer is not sent yet.
    let answersDue = AnswersDue()

    public init(configuration: Configuration, accessLog: Bool = true, metrics: HTTPMetrics = HTTPMetrics(),
                tooLarge: @escaping @Sendable (Request) -> Response,
                handler: @escaping @Sendable (Request) -> Response) {
        self.configuration = configuration
        self.runner = RequestRunner(handler: handler, tooLarge: tooLarge, accessLog: accessLog, metrics: metrics)
    }

    deinit { stop() }

    public func start() throws {
        guard daemon == nil else { return }
        // Set before libmicrohttpd's threads start: they read it.
        let handlers = HandlerThreads(count: configuration.threads, name: "http")
        self.handlers = handlers
        accepting.store(true, ordering: .sequentiallyConsistent)
        let context = Unmanaged.passUnretained(self).toOpaque()
        guard let daemon = dh_mhd_start(
            configuration.host, configuration.port, HTTPServer.acceptPolicy, context,
            HTTPServer.accessHandler, context, HTTPServer.completedHandler, context, HTTPServer.requestLine, context,
            UInt32(max(1, configuration.ioThreads)), UInt32(configuration.maxConnections),
            UInt32(configuration.connectionTimeout), configuration.connectionMemoryBytes) else {
            handlers.close()
            self.handlers = nil
            accepting.store(false, ordering: .sequentiallyConsistent)
            throw HTTPServerError(message: "cannot listen on \(configuration.host):\(configuration.port) (in use, or not an IPv4 address)")
        }
        self.daemon = daemon
    }

    /// Stops accepting connections, answers the requests already taken (queued or running),
    /// then closes every connection. A request arriving meanwhile on an open connection runs on
    /// libmicrohttpd's thread: no connection may be left suspended when the daemon stops
    /// (libmicrohttpd forbids it).
    ///
    /// A new connection is refused by the accept policy, not by `MHD_quiesce_daemon`: in
    /// libmicrohttpd 0.9.75 quiescing an epoll thread pool races each pool thread, which may
    /// take the listening socket out of its epoll set in the same moment; whichever of the two
    /// comes second gets ENOENT and aborts the process ("Failed to remove listen FD from epoll
    /// set", daemon.c in `MHD_quiesce_daemon` and in `MHD_epoll`). It did, in a test run.
    public func stop() {
        guard let daemon else { return }
        accepting.store(false, ordering: .sequentiallyConsistent)
        handlers?.close()
        // Resumed connections get their answers sent by libmicrohttpd's threads.
        answersDue.waitForNone(upTo: 5)
        // Closes the listening socket too.
        MHD_stop_daemon(daemon)
        self.daemon = nil
        self.handlers = nil
    }
}

/// What answers a request: the handler (or the 413 answer), then its metrics and access line.
/// Apart from the server, so the work queued for a handler thread holds these and not the
/// server: a server dropped while requests run is then never freed on a handler thread.
struct RequestRunner: Sendable {
    let handler: @Sendable (Request) -> Response
    /// Called for a body over the limit, before the handler ever sees the request.
    let tooLarge: @Sendable (Request) -> Response
    let accessLog: Bool
    let metrics: HTTPMetrics

    /// On a handler thread; on libmicrohttpd's thread for a 413, an immediate path, and while
    /// the server stops.
    func respond(to request: Request, state: RequestState) -> Response {
        var response = state.tooLarge ? tooLarge(request) : handler(request)
        response.setHeader("Request-Id", request.requestID)
        let elapsed = Date().timeIntervalSince(state.started)
        let route = response.route ?? "unmatched"
        metrics.record(route: route, method: request.method, status: response.status, seconds: elapsed)
        if accessLog {
            AccessLog.write(method: request.method, route: route, status: response.status, seconds: elapsed,
                            requestID: request.requestID, accountID: response.accountID)
        }
        return response
    }
}

/// Counts suspended requests whose answer is not sent yet, so `stop()` can wait for them.
final class AnswersDue: Sendable {
    private let count = Mutex(0)

    func add(_ delta: Int) { count.withLock { $0 += delta } }

    func waitForNone(upTo seconds: TimeInterval) {
        let end = Date().addingTimeInterval(seconds)
        while count.withLock({ $0 }) > 0 && Date() < end { usleep(1000) }
    }
}

public struct HTTPServerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
