import Foundation
import HTTPServer

/// An in-process HTTP server on a free loopback port, for tests that need something real to
/// call: a tenant endpoint, a Graph stand-in, a slow or redirecting target.
public final class LoopbackServer: @unchecked Sendable {
    // `@unchecked Sendable`: both fields are set once in init.
    public let server: HTTPServer
    public let port: UInt16
    public var base: String { "http://127.0.0.1:\(port)" }

    /// On `port`, or on a free random port when nil.
    public init(threads: Int = 2, ioThreads: Int = 2, maxBodyBytes: Int? = nil, immediatePaths: Set<String> = [], immediatePrefixes: [String] = [], port fixed: UInt16? = nil, _ handler: @escaping @Sendable (Request) -> Response) throws {
        var lastError: Error?
        for _ in 0..<(fixed == nil ? 5 : 1) {
            let port = fixed ?? UInt16.random(in: 30_000...59_999)
            var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: port)
            configuration.threads = threads
            configuration.ioThreads = ioThreads
            if let maxBodyBytes { configuration.maxBodyBytes = maxBodyBytes }
            configuration.immediatePaths = immediatePaths
            configuration.immediatePrefixes = immediatePrefixes
            let server = HTTPServer(configuration: configuration, accessLog: false,
                                    tooLarge: { _ in Response(status: 413) }, handler: handler)
            do {
                try server.start()
                self.server = server
                self.port = port
                return
            } catch {
                lastError = error  // the port was taken: try another
            }
        }
        throw lastError!
    }

    public func stop() { server.stop() }

    /// A tenant endpoint that passes Meta's verification handshake for one verify token only.
    public static func handshakeReceiver(token: String) throws -> LoopbackServer {
        try LoopbackServer { request in
            guard request.query["hub.mode"] == "subscribe", request.query["hub.verify_token"] == token,
                  let challenge = request.query["hub.challenge"] else { return .text(403, "forbidden") }
            return .text(200, challenge)
        }
    }
}
