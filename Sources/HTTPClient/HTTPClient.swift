import CCurl
import Foundation

/// Outbound HTTP over libcurl, for calls that workers make to Meta and to customer URLs.
///
/// Each call has a deadline (curl's timeouts derive from it), never follows a redirect (a 3xx
/// is an answer), keeps at most `maxResponseBytes` of the body, and, unless private targets are
/// allowed, goes only to https URLs whose every resolved address is public — and to exactly the
/// address that was checked (pinned with CURLOPT_RESOLVE), so a second DNS answer cannot
/// redirect it (DNS rebinding). Calls block: run them on threads the caller owns.
public struct HTTPClient: Sendable {
    public struct Request: Sendable {
        public var method: String
        public var url: String
        public var headers: [(String, String)]
        public var body: Data?

        public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: Data? = nil) {
            self.method = method
            self.url = url
            self.headers = headers
            self.body = body
        }
    }

    public struct Response: Sendable {
        public let status: Int
        /// Header names lower-cased; the last value wins.
        public let headers: [String: String]
        public let body: Data
        public let truncated: Bool
        public let duration: TimeInterval

        public func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    /// Development and tests only: http and private addresses allowed.
    public var allowPrivateTargets: Bool
    public var maxResponseBytes: Int
    public var userAgent: String

    public init(allowPrivateTargets: Bool = false, maxResponseBytes: Int = 1 << 20, userAgent: String = "Dualhook/1.0") {
        self.allowPrivateTargets = allowPrivateTargets
        self.maxResponseBytes = maxResponseBytes
        self.userAgent = userAgent
        HTTPClient.globalInit
    }

    /// `curl_global_init` once per process, before any thread uses curl.
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_ALL)) }()

    public func send(_ request: Request, deadline: Date) throws -> Response {
        var resolved: [String: Result<String, HTTPClientError>] = [:]
        let target = try check(request, deadline: deadline, resolved: &resolved).started(deadline: deadline)
        guard let handle = CurlHandle.forCurrentThread()?.handle else { throw HTTPClientError.transport("curl_easy_init failed") }
        let transfer = Transfer(handle: handle, request: request, target: target, client: self)
        return try withExtendedLifetime(transfer) { try transfer.finish(curl_easy_perform(handle)) }
    }

    /// Where a request may go: its URL and scheme checked, and unless private targets are
    /// allowed, the address every resolved name must be and is pinned to.
    struct Target {
        let pin: String?
        /// Set when the transfer starts: the deadline's time left then.
        var timeoutMs = 0

        /// The target with its timeout taken from the deadline now, just before its transfer
        /// starts (not when it was checked: a batch's checks resolve names one after another).
        func started(deadline: Date) throws -> Target {
            let remainingMs = Int(deadline.timeIntervalSinceNow * 1000)
            guard remainingMs > 0 else { throw HTTPClientError.timedOut }
            var target = self
            target.timeoutMs = remainingMs
            return target
        }
    }

    /// `resolved` keeps what the names already looked up for the same call gave (a batch's
    /// requests mostly go to a few hosts): one lookup per host and port, and one address for
    /// all of its requests.
    ///
    /// A pin stays in the curl handle's DNS cache after its transfer (CURLOPT_RESOLVE entries do
    /// not expire), but every request to a public target sets its own pin again, which replaces
    /// it, so a stale one is never used for a checked request.
    func check(_ request: Request, deadline: Date, resolved: inout [String: Result<String, HTTPClientError>]) throws -> Target {
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw HTTPClientError.invalidURL
        }
        guard scheme == "https" || (scheme == "http" && allowPrivateTargets) else {
            throw HTTPClientError.schemeNotAllowed(scheme)
        }
        guard deadline > Date() else { throw HTTPClientError.timedOut }
        guard !allowPrivateTargets else { return Target(pin: nil) }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        let bareHost = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let key = "\(bareHost):\(port)"
        let pin = resolved[key] ?? Result {
            let addresses = try AddressPolicy.resolve(bareHost, port: port)
            guard !addresses.isEmpty, addresses.allSatisfy(AddressPolicy.isPublic) else {
                throw HTTPClientError.blockedAddress(host: bareHost)
            }
            let first = addresses[0]
            return "\(key):\(first.contains(":") ? "[\(first)]" : first)"
        }.mapError(HTTPClientError.from)
        resolved[key] = pin
        return Target(pin: try pin.get())
    }

    /// One request set up on a curl handle, and the answer read from it when curl is done.
    /// The body is copied into the handle (`CURLOPT_COPYPOSTFIELDS`), so a transfer run by a
    /// multi handle outlives nothing it points to.
    final class Transfer {
        let handle: UnsafeMutableRawPointer
        let sink: ResponseSink
        private var headerList: UnsafeMutablePointer<curl_slist>?
        private var resolveList: UnsafeMutablePointer<curl_slist>?
        let started = Date()

        init(handle: UnsafeMutableRawPointer, request: Request, target: Target, client: HTTPClient) {
            self.handle = handle
            self.sink = ResponseSink(limit: client.maxResponseBytes)
            let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
            _ = dh_curl_setopt_string(handle, CURLOPT_URL, request.url)
            _ = dh_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            _ = dh_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
            _ = dh_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, target.timeoutMs)
            _ = dh_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, min(target.timeoutMs, 10_000))
            _ = dh_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, client.allowPrivateTargets ? "http,https" : "https")
            _ = dh_curl_setopt_string(handle, CURLOPT_USERAGENT, client.userAgent)
            _ = dh_curl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, "")
            if let pin = target.pin {
                resolveList = curl_slist_append(nil, pin)
                _ = dh_curl_setopt_slist(handle, CURLOPT_RESOLVE, resolveList)
            }
            for (name, value) in request.headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
            if request.body != nil && !request.headers.contains(where: { $0.0.lowercased() == "expect" }) {
                headerList = curl_slist_append(headerList, "Expect:")  // no 100-continue round trip
            }
            _ = dh_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)
            switch request.method {
            case "GET": break
            case "HEAD": _ = dh_curl_setopt_long(handle, CURLOPT_NOBODY, 1)
            default: _ = dh_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
            }
            _ = dh_curl_setopt_write(handle, HTTPClient.writeBody)
            _ = dh_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, sinkPointer)
            _ = dh_curl_setopt_header(handle, HTTPClient.writeHeader)
            _ = dh_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, sinkPointer)
            if let body = request.body {
                body.withUnsafeBytes { bytes in
                    _ = dh_curl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
                    _ = dh_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
                }
                if request.method == "GET" || request.method == "POST" { _ = dh_curl_setopt_long(handle, CURLOPT_POST, 1) }
            }
        }

        deinit {
            curl_slist_free_all(headerList)
            curl_slist_free_all(resolveList)
        }

        /// The answer, once curl ended the transfer with `code`.
        func finish(_ code: CURLcode) throws -> Response {
            let duration = Date().timeIntervalSince(started)
            switch code {
            case CURLE_OK:
                break
            case CURLE_WRITE_ERROR where sink.truncated:
                break  // stopped at the capture bound: the answer so far is what we keep
            case CURLE_OPERATION_TIMEDOUT:
                throw HTTPClientError.timedOut
            default:
                throw HTTPClientError.transport(String(cString: curl_easy_strerror(code)))
            }
            var status = 0
            _ = dh_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            return Response(status: status, headers: sink.headers, body: sink.body, truncated: sink.truncated, duration: duration)
        }
    }

    fileprivate static let writeBody: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
        data, size, count, context in
        guard let data, let context else { return 0 }
        let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
        return sink.append(data, size * count)
    }

    fileprivate static let writeHeader: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
        data, size, count, context in
        guard let data, let context else { return 0 }
        let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
        sink.header(data, size * count)
        return size * count
    }
}

/// Collects one response. Used by one curl call on one thread.
final class ResponseSink {
    let limit: Int
    var body = Data()
    var headers: [String: String] = [:]
    var truncated = false

    init(limit: Int) { self.limit = limit }

    func append(_ data: UnsafeMutablePointer<CChar>, _ length: Int) -> Int {
        let room = limit - body.count
        if length > room {
            data.withMemoryRebound(to: UInt8.self, capacity: length) { body.append($0, count: max(0, room)) }
            truncated = true
            return 0  // stop the transfer: the bound is reached
        }
        data.withMemoryRebound(to: UInt8.self, capacity: length) { body.append($0, count: length) }
        return length
    }

    func header(_ data: UnsafeMutablePointer<CChar>, _ length: Int) {
        // Over the line's bytes: Foundation's `trimmingCharacters` went through NSString and
        // was a twentieth of the worker's time delivering events.
        data.withMemoryRebound(to: UInt8.self, capacity: length) { start in
            let line = ResponseSink.trimmed(UnsafeBufferPointer(start: start, count: length)[...])
            if line.starts(with: "HTTP/".utf8) { headers.removeAll(); return }  // a new response (after 100 Continue)
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            headers[name] = String(decoding: ResponseSink.trimmed(line[(colon + 1)...]), as: UTF8.self)
        }
    }

    /// Without leading and trailing spaces, tabs, CR and LF (a header line's only whitespace).
    static func trimmed(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Slice<UnsafeBufferPointer<UInt8>> {
        func blank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
        var lower = bytes.startIndex, upper = bytes.endIndex
        while lower < upper && blank(bytes[lower]) { lower += 1 }
        while upper > lower && blank(bytes[upper - 1]) { upper -= 1 }
        return bytes[lower..<upper]
    }
}
