import Foundation
import HTTPServer

/// Every error a client can see, with its stable code, mapped to HTTP here and nowhere else.
public struct APIError: Error, Sendable, Equatable {
    public let status: Int
    public let code: String
    public let message: String
    public let param: String?
    public var headers: [String: String] = [:]

    public init(status: Int, code: String, message: String, param: String? = nil, headers: [String: String] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers
    }

    public static func validationFailed(param: String, _ message: String) -> APIError {
        APIError(status: 400, code: "validation_failed", message: message, param: param)
    }
    public static func invalidJSON(_ message: String) -> APIError {
        APIError(status: 400, code: "invalid_json", message: message)
    }
    /// A value Postgres cannot take as text (`PostgresError.Kind.invalidParameter`: it holds
    /// U+0000) that no check of its own field refused first, such as a path or form value.
    public static let nulInValue = APIError(
        status: 400, code: "validation_failed", message: "a value in the request holds the NUL character (U+0000), which is not accepted")
    /// With the scheme to use, as RFC 6750 (3) asks of a 401 for a bearer token.
    public static let unauthorized = APIError(
        status: 401, code: "unauthorized", message: "missing, unknown or revoked API key (Authorization: Bearer dh_live_…)",
        headers: ["WWW-Authenticate": "Bearer"])
    /// `param`: the field of the request that named what is not there, when one did.
    public static func notFound(_ what: String, param: String? = nil) -> APIError {
        APIError(status: 404, code: "not_found", message: "\(what) not found", param: param)
    }
    public static func methodNotAllowed(_ allowed: [String]) -> APIError {
        APIError(status: 405, code: "method_not_allowed", message: "this path accepts \(allowed.joined(separator: ", "))",
                 headers: ["Allow": allowed.joined(separator: ", ")])
    }
    public static let unsupportedMediaType = APIError(
        status: 415, code: "unsupported_media_type", message: "the body must be JSON, sent with Content-Type: application/json",
        param: "Content-Type")
    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(status: 413, code: "payload_too_large", message: "the request body is larger than \(limit) bytes")
    }
    /// `budget` names which limit ran out, when it is not the key's requests per minute.
    public static func rateLimited(retryAfter: Int, budget: String = "requests per minute for this API key") -> APIError {
        APIError(status: 429, code: "rate_limited", message: "too many requests: the limit of \(budget) is used up; retry after \(retryAfter) s",
                 headers: ["Retry-After": String(retryAfter)])
    }
    public static let idempotencyKeyReused = APIError(
        status: 422, code: "idempotency_key_reused", message: "this Idempotency-Key was used with a different request",
        param: "Idempotency-Key")
    public static let idempotencyKeyInUse = APIError(
        status: 409, code: "idempotency_key_in_use", message: "a request with this Idempotency-Key is still being processed",
        param: "Idempotency-Key")
    public static func unavailable(retryAfter: Int = 5) -> APIError {
        APIError(status: 503, code: "unavailable", message: "the database is unreachable; retry shortly",
                 headers: ["Retry-After": String(retryAfter)])
    }
    public static let internalError = APIError(status: 500, code: "internal_error", message: "an unexpected error occurred")

    struct Envelope: Encodable {
        struct Body: Encodable {
            let code: String
            let message: String
            @Nullable var param: String?
            let requestId: String
        }
        let error: Body
    }

    public func response(requestID: String) -> Response {
        var response = Response.json(status, Envelope(error: .init(code: code, message: message, param: param, requestId: requestID)))
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { response.setHeader(name, value) }
        return response
    }
}
