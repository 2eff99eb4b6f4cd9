import CMicroHTTPD
import Foundation

/// What is known about a request between libmicrohttpd's calls for it.
///
/// `@unchecked Sendable`: libmicrohttpd's thread of the connection writes `body`, `tooLarge`,
/// `headersSeen` and `responded` before it queues the request for a handler thread (under the queue's
/// lock, which the handler thread takes before it runs the request) and not after. The
/// handler thread writes `answer` and then resumes the connection; libmicrohttpd's thread
/// reads it only when it calls back after that resume, which libmicrohttpd's daemon mutex
/// (`cleanup_connection_mutex`) orders after it. `due` is used by libmicrohttpd's threads only.
final class RequestState: @unchecked Sendable {
    /// When the headers were in (reset then: the request line may come long before).
    var started = Date()
    /// The path as the client sent it, percent-escapes and all: the router splits it into
    /// segments first and decodes each parameter once. (libmicrohttpd's decoded path split an
    /// id holding `%2F`, cut one holding `%00` short, and was decoded again by the router.)
    let path: String
    /// The access handler was called once: the headers are in.
    var headersSeen = false
    var body = Data()
    var tooLarge = false
    var responded = false
    /// The handler's answer, waiting for the connection to resume.
    var answer: Response?
    /// Counted in `HTTPServer.answersDue` until the request ends (its answer sent, or the
    /// connection gone).
    var due = false

    /// `target` is the request line's target: its path, then the query after `?`. The
    /// absolute form (`http://host/path`, which HTTP/1.1 servers must accept: RFC 9112, 3.2.2)
    /// gives its path.
    init(target: String) {
        path = RequestState.path(ofTarget: target)
    }

    static func path(ofTarget target: String) -> String {
        var rest = Substring(target)
        if !rest.hasPrefix("/"), let scheme = rest.range(of: "://") {
            let afterHost = rest[scheme.upperBound...]
            rest = afterHost.firstIndex(of: "/").map { afterHost[$0...] } ?? "/"
        }
        return String(rest.prefix { $0 != "?" && $0 != "#" })
    }
}

/// A suspended connection, handed to the handler thread that resumes it.
/// `@unchecked Sendable`: libmicrohttpd lets any thread resume a suspended connection.
struct SuspendedConnection: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// libmicrohttpd's C callbacks. They are static members of a non-main file on purpose: a
/// closure in top-level code would be inferred `@MainActor` and trap when MHD calls it from
/// its own threads.
extension HTTPServer {
    /// Asked for each connection as it is accepted: closed at once once the server stops.
    static let acceptPolicy: MHD_AcceptPolicyCallback = { cls, _, _ in
        guard let cls else { return dh_mhd_no() }
        let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
        return server.accepting.load(ordering: .sequentiallyConsistent) ? dh_mhd_yes() : dh_mhd_no()
    }

    /// Called once per request, when its request line is read: the request's state begins
    /// here with the target as sent, and is released when the request completes.
    static let requestLine: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, OpaquePointer?) -> UnsafeMutableRawPointer? = {
        _, uri, _ in
        Unmanaged.passRetained(RequestState(target: uri.map { String(cString: $0) } ?? "/")).toOpaque()
    }

    static let accessHandler: MHD_AccessHandlerCallback = { cls, connection, url, method, _, uploadData, uploadSize, requestContext in
        guard let cls, let connection, let requestContext, let uploadSize else { return dh_mhd_no() }
        let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()

        // Made by `requestLine`, which libmicrohttpd calls before any call here.
        guard let existing = requestContext.pointee else { return dh_mhd_no() }
        let state = Unmanaged<RequestState>.fromOpaque(existing).takeUnretainedValue()
        if !state.headersSeen {
            // First call: headers are in, the body (if any) comes next.
            state.headersSeen = true
            state.started = Date()
            if let length = dh_mhd_header(connection, "Content-Length").flatMap({ Int(String(cString: $0)) }),
               length > server.configuration.maxBodyBytes {
                state.tooLarge = true
                // A body up to four times the limit is read and dropped before the 413: a
                // client still sending when the answer came and the connection closed saw a
                // broken pipe, not the answer. A larger one is answered at once, and so is a
                // client that waits to be asked (`Expect: 100-continue`): it sends nothing.
                if length <= 4 * server.configuration.maxBodyBytes, dh_mhd_header(connection, "Expect") == nil {
                    return dh_mhd_yes()
                }
                state.responded = true
                return server.finish(connection: connection, method: method, state: state)
            }
            return dh_mhd_yes()
        }
        if uploadSize.pointee > 0 {
            let size = uploadSize.pointee
            if !state.tooLarge, let uploadData {
                if state.body.count + size > server.configuration.maxBodyBytes {
                    state.tooLarge = true
                    state.body = Data()
                } else {
                    uploadData.withMemoryRebound(to: UInt8.self, capacity: size) { state.body.append($0, count: size) }
                }
            }
            uploadSize.pointee = 0
            return dh_mhd_yes()
        }
        if let answer = state.answer {
            // Called back after the handler's thread resumed the connection.
            state.answer = nil
            return server.queue(answer, on: connection, state: state)
        }
        if state.responded { return dh_mhd_yes() }
        state.responded = true
        return server.finish(connection: connection, method: method, state: state)
    }

    static let completedHandler: MHD_RequestCompletedCallback = { cls, _, requestContext, _ in
        guard let requestContext, let pointer = requestContext.pointee else { return }
        let state = Unmanaged<RequestState>.fromOpaque(pointer).takeRetainedValue()
        requestContext.pointee = nil
        if let cls { Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue().settle(state) }
    }

    /// The request ended: its answer was sent, or its connection is gone.
    func settle(_ state: RequestState) {
        if state.due {
            state.due = false
            answersDue.add(-1)
        }
    }

    private static let collect: dh_mhd_pair_cb = { context, key, value in
        guard let context, let key else { return }
        let box = Unmanaged<PairBox>.fromOpaque(context).takeUnretainedValue()
        box.pairs[String(cString: key).lowercased()] = value.map { String(cString: $0) } ?? ""
    }

    /// Query arguments come with their lengths: one holding `%00` keeps its NUL and all that
    /// follows (the database refuses such a value by name, where a C string cut it short unseen).
    private static let collectWithLengths: dh_mhd_pair_n_cb = { context, key, keySize, value, valueSize in
        guard let context, let key else { return }
        let box = Unmanaged<PairBox>.fromOpaque(context).takeUnretainedValue()
        func text(_ pointer: UnsafePointer<CChar>, _ count: Int) -> String {
            pointer.withMemoryRebound(to: UInt8.self, capacity: count) { String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self) }
        }
        let name = text(key, keySize)
        if box.pairs.updateValue(value.map { text($0, valueSize) } ?? "", forKey: name) != nil { box.repeated.insert(name) }
    }

    /// Headers (names lower-cased) or query arguments, as libmicrohttpd reports them.
    final class PairBox {
        var pairs: [String: String] = [:]
        /// Names given more than once (query arguments).
        var repeated: Set<String> = []
    }

    func finish(connection: OpaquePointer, method: UnsafePointer<CChar>?, state: RequestState) -> MHD_Result {
        let headers = PairBox()
        let query = PairBox()
        withExtendedLifetime((headers, query)) {
            dh_mhd_headers(connection, HTTPServer.collect, Unmanaged.passUnretained(headers).toOpaque())
            dh_mhd_query_args(connection, HTTPServer.collectWithLengths, Unmanaged.passUnretained(query).toOpaque())
        }
        var ip = [CChar](repeating: 0, count: 64)
        dh_mhd_client_ip(connection, &ip, ip.count)
        var read = Request(
            method: method.map { String(cString: $0) } ?? "GET",
            path: state.path,
            headers: headers.pairs, query: query.pairs, body: state.body,
            requestID: RequestID.make(),
            clientIP: String(decoding: ip.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        read.repeatedQuery = query.repeated.sorted()
        let request = read
        if !state.tooLarge, !configuration.answersAtOnce(request.path), let handlers {
            // The handler runs on a handler thread while the connection waits suspended; its
            // answer is queued when libmicrohttpd calls back after the resume.
            let suspended = SuspendedConnection(pointer: connection)
            let runner = runner
            let queued = handlers.submit(before: {
                state.due = true
                answersDue.add(1)
                MHD_suspend_connection(connection)
            }) {
                state.answer = runner.respond(to: request, state: state)
                MHD_resume_connection(suspended.pointer)
            }
            if queued { return dh_mhd_yes() }
            // Stopping: answered here, as the daemon may not stop with a connection suspended.
        }
        return queue(runner.respond(to: request, state: state), on: connection, state: state)
    }

    func queue(_ response: Response, on connection: OpaquePointer, state: RequestState) -> MHD_Result {
        let mhdResponse = response.body.withUnsafeBytes { dh_mhd_response_copy($0.baseAddress, $0.count) }
        guard let mhdResponse else { return dh_mhd_no() }
        defer { MHD_destroy_response(mhdResponse) }
        for (name, value) in response.headers { _ = MHD_add_response_header(mhdResponse, name, value) }
        if state.tooLarge { _ = MHD_add_response_header(mhdResponse, "Connection", "close") }
        return MHD_queue_response(connection, UInt32(response.status), mhdResponse)
    }
}

/// `req_` + 20 random hex characters.
enum RequestID {
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let a = generator.next() as UInt64
        let b = generator.next() as UInt64
        return "req_" + String(a, radix: 16).leftPadded(16) + String(b >> 48, radix: 16).leftPadded(4)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
