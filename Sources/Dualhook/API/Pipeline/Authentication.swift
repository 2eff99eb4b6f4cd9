import Crypto
import HTTPServer

/// The API key, and one request counted against its per-minute budget, in one statement on
/// an unlogged table: no durable commit of its own.
struct Authentication: Middleware {
    func handle(_ request: Request, context: inout RequestContext, next: Responder<RequestContext>) throws -> Response {
        guard let connection = context.connection else { preconditionFailure("Authentication runs inside PooledConnection") }
        guard let token = Self.bearerToken(request), token.hasPrefix("dh_live_"),
              let (caller, window) = try RateLimitWindow.authenticate(keyHash: Digest.sha256(token), on: connection) else {
            throw APIError.unauthorized
        }
        context.caller = caller
        context.window = window
        if window.exceeded { throw APIError.rateLimited(retryAfter: window.retryAfter) }
        return try next(request, &context)
    }

    static func bearerToken(_ request: Request) -> String? {
        guard let header = request.header("Authorization") else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(trimmingOWS(parts[1]))
    }

    /// Without the spaces and tabs HTTP allows around a field value (RFC 9110, 5.6.3), over
    /// UTF-8: Foundation's `trimmingCharacters(in: .whitespaces)` was 3 % of the instructions
    /// of a session request (callgrind).
    static func trimmingOWS(_ text: Substring) -> Substring {
        let bytes = text.utf8
        func isOWS(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isOWS(bytes[start]) { start = bytes.index(after: start) }
        while end > start, isOWS(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        return text[start..<end]
    }
}
