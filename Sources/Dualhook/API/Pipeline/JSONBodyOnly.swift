import HTTPServer

/// A body must be JSON. Checked before anything else runs, so nothing (an Idempotency-Key
/// included) is taken for a body that cannot be read.
struct JSONBodyOnly: Middleware {
    func handle(_ request: Request, context: inout RequestContext, next: Responder<RequestContext>) throws -> Response {
        if !request.body.isEmpty, !Self.isJSON(request.header("Content-Type")) {
            throw APIError.unsupportedMediaType
        }
        return try next(request, &context)
    }

    /// `application/json`, with or without parameters (`; charset=utf-8`).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let type = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() else { return false }
        return type == "application/json"
    }
}
