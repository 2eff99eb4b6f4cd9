import CMicroHTTPD
import Foundation
import Logging

/// An HTTP/1.1 server on libmicrohttpd: an internal pool of epoll threads, keep-alive, and
/// limits on body size, memory per connection (which bounds headers), idle time and
/// connection count. Handlers run on the pool's threads and may block (database calls).
///
/// `@unchecked Sendable`: configuration and handler are immutable; `daemon` is set once by
/// `start()` before any request can arrive and cleared by `stop()` after the daemon is gone.
public final class HTTPServer: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: UInt16
        public var threads: Int = 8
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
    }

    public let configuration: Configuration
    let handler: @Sendable (Request) -> Response
    /// Called for a body over the limit, before the handler ever sees the request.
    let tooLarge: @Sendable (Request) -> Response
    let accessLog: Bool
    public let metrics: HTTPMetrics
    private var daemon: OpaquePointer?

    public init(configuration: Configuration, accessLog: Bool = true, metrics: HTTPMetrics = HTTPMetrics(),
                tooLarge: @escaping @Sendable (Request) -> Response,
                handler: @escaping @Sendable (Request) -> Response) {
        self.configuration = configuration
        self.handler = handler
        self.tooLarge = tooLarge
        self.accessLog = accessLog
        self.metrics = metrics
    }

    deinit { stop() }

    public func start() throws {
        let context = Unmanaged.passUnretained(self).toOpaque()
        guard let daemon = dh_mhd_start(
            configuration.host, configuration.port,
            HTTPServer.accessHandler, context, HTTPServer.completedHandler, context,
            UInt32(configuration.threads), UInt32(configuration.maxConnections),
            UInt32(configuration.connectionTimeout), configuration.connectionMemoryBytes) else {
            throw HTTPServerError(message: "cannot listen on \(configuration.host):\(configuration.port) (in use, or not an IPv4 address)")
        }
        self.daemon = daemon
    }

    public func stop() {
        if let daemon {
            MHD_stop_daemon(daemon)
            self.daemon = nil
        }
    }

    /// Runs the handler and records the request; called on a pool thread.
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

public struct HTTPServerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
