import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `dualhook serve` on a free loopback port against a test database.
public final class APIServer: @unchecked Sendable {
    // `@unchecked Sendable`: all fields are set once in init.
    public let process: DualhookProcess
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The bearer token `/metrics` asks of the servers tests start (unless a test sets its own).
    public static let metricsToken = "metrics-" + UUID().uuidString

    public init(databaseURL: String, threads: Int = 4, environment: [String: String] = [:], extraArguments: [String] = []) throws {
        var lastLog = ""
        for _ in 0..<5 {
            let port = Int.random(in: 20_000...29_999)
            var env = environment
            env["DUALHOOK_PUBLIC_URL"] = env["DUALHOOK_PUBLIC_URL"] ?? "https://onboard.test"
            env["DUALHOOK_METRICS_TOKEN"] = env["DUALHOOK_METRICS_TOKEN"] ?? APIServer.metricsToken
            let process = try DualhookProcess(["serve", "--listen", "127.0.0.1:\(port)", "--threads", String(threads)] + extraArguments,
                                              databaseURL: databaseURL, environment: env, label: "serve-\(port)")
            if eventually(timeout: 10, { process.log.contains("listening") || !process.isRunning }), process.isRunning {
                self.process = process
                self.port = port
                return
            }
            lastLog = process.log
            process.stop()
        }
        throw SpawnError(message: "dualhook serve did not start: \(lastLog)")
    }

    public func stop() { process.stop() }

    public func send(_ method: String, _ path: String, key: String? = nil, headers: [String: String] = [:],
                     body: Data? = nil) throws -> HTTPResult {
        try HTTPResult.send(method, baseURL + path, key: key, headers: headers, body: body)
    }

    public func send(_ method: String, _ path: String, key: String? = nil, headers: [String: String] = [:],
                     json: String) throws -> HTTPResult {
        try send(method, path, key: key, headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a },
                 body: Data(json.utf8))
    }
}

/// One HTTP exchange over loopback, done synchronously.
public struct HTTPResult: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: Data

    public var text: String { String(decoding: body, as: UTF8.self) }
    public func header(_ name: String) -> String? { headers[name.lowercased()] }
    public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    public var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    public var errorParam: String? { (json["error"] as? [String: Any])?["param"] as? String }

    public static func send(_ method: String, _ url: String, key: String? = nil, headers: [String: String] = [:],
                            body: Data? = nil, timeout: TimeInterval = 30) throws -> HTTPResult {
        var request = URLRequest(url: URL(string: url)!, timeoutInterval: timeout)
        request.httpMethod = method
        request.httpBody = body
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        // A connection per exchange: one kept alive and reused after idling about as long as
        // the server's idle timeout (30 s, the length of some tests' waits) could be closed by
        // the server just as a request went out on it, and a POST is not sent again ("Empty
        // reply from server").
        request.setValue("close", forHTTPHeaderField: "Connection")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        HTTPResult.session.dataTask(with: request) { data, response, error in
            box.set(data, response as? HTTPURLResponse, error)
            done.signal()
        }.resume()
        done.wait()
        let (data, response, error) = box.get()
        if let error { throw error }
        guard let response else { throw SpawnError(message: "no HTTP response") }
        var headers: [String: String] = [:]
        for (name, value) in response.allHeaderFields {
            headers[String(describing: name).lowercased()] = String(describing: value)
        }
        return HTTPResult(status: response.statusCode, headers: headers, body: data ?? Data())
    }

    /// A session that keeps no cookie: cookies go only as the caller sends them. The shared
    /// session's store keeps them per host, not per port, and put one suite's `dh_csrf` in place
    /// of the `Cookie` header another suite sent to its own server on 127.0.0.1.
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        return URLSession(configuration: configuration)
    }()

    final class ResultBox: @unchecked Sendable {
        // `@unchecked Sendable`: written once before the semaphore is signalled, read after.
        private var value: (Data?, HTTPURLResponse?, Error?) = (nil, nil, nil)
        func set(_ data: Data?, _ response: HTTPURLResponse?, _ error: Error?) { value = (data, response, error) }
        func get() -> (Data?, HTTPURLResponse?, Error?) { value }
    }
}
