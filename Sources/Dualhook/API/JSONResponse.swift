import Foundation
import HTTPServer

/// Answers built as JSON objects where a field can be an explicit `null` (dates as RFC 3339).
enum JSONResponse {
    static func make(_ status: Int, _ object: [String: Any?], headers: [(String, String)] = []) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: plain(object), options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return Response(status: status, headers: [("Content-Type", "application/json")] + headers, body: data)
    }

    /// nil → NSNull, Date → RFC 3339, nested objects and arrays likewise.
    static func plain(_ value: Any?) -> Any {
        switch value {
        case nil: return NSNull()
        case let date as Date: return Response.timestamp(date)
        case let object as [String: Any?]: return object.mapValues(plain)
        case let object as [String: Any]: return object.mapValues { plain($0) }
        case let array as [Any?]: return array.map(plain)
        case let some?:
            // An Optional that arrived boxed in Any: unwrap it.
            let mirror = Mirror(reflecting: some)
            if mirror.displayStyle == .optional { return mirror.children.first.map { plain($0.value) } ?? NSNull() }
            return some
        }
    }
}
