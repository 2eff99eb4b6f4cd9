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
    /// Over the header's bytes: through Foundation's `trimmingCharacters` this was a visible
    /// part of every request.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        var bytes = contentType.utf8[...]
        if let semicolon = bytes.firstIndex(of: UInt8(ascii: ";")) { bytes = bytes[..<semicolon] }
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
        while let first = bytes.first, blank(first) { bytes = bytes.dropFirst() }
        while let last = bytes.last, blank(last) { bytes = bytes.dropLast() }
        let expected = "application/json".utf8
        let lowered: (UInt8) -> UInt8 = { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }
        return bytes.count == expected.count && zip(bytes, expected).allSatisfy { lowered($0) == $1 }
    }
}
