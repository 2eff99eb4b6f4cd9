import Foundation
import HTTPServer

/// Answers built as JSON objects where a field can be an explicit `null` (dates as RFC 3339).
/// Encoded through `JSONEncoder`, not `JSONSerialization`: the latter sorts keys with a
/// locale-aware comparison that made a 20-row listing cost milliseconds (measured with perf).
enum JSONResponse {
    static func make(_ status: Int, _ object: [String: Any?], headers: [(String, String)] = []) -> Response {
        let data = (try? Response.jsonEncoder.encode(JSONValue(object))) ?? Data("{}".utf8)
        return Response(status: status, headers: [("Content-Type", "application/json")] + headers, body: data)
    }
}

extension JSONValue {
    /// A JSON value made from what handlers put in their dictionaries.
    init(_ any: Any?) {
        switch any {
        case nil: self = .null
        case let value as String: self = .string(value)
        case let value as Bool: self = .bool(value)
        case let value as Int: self = .number(Double(value))
        case let value as Double: self = .number(value)
        case let value as Date: self = .string(Response.timestamp(value))
        case let value as [String: Any?]: self = .object(value.mapValues { JSONValue($0) })
        case let value as [String: Any]: self = .object(value.mapValues { JSONValue($0) })
        case let value as [Any?]: self = .array(value.map { JSONValue($0) })
        case let value as [Any]: self = .array(value.map { JSONValue($0) })
        case let some?:
            // An Optional that arrived boxed in Any: unwrap it.
            let mirror = Mirror(reflecting: some)
            if mirror.displayStyle == .optional {
                self = mirror.children.first.map { JSONValue($0.value) } ?? .null
            } else {
                self = .string(String(describing: some))
            }
        }
    }
}
