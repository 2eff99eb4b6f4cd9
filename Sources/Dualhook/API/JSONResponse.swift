import Foundation
import HTTPServer

/// Answers built as JSON objects where a field can be an explicit `null` (dates as RFC 3339).
/// Encoded through `JSONEncoder`, not `JSONSerialization`: the latter sorts keys with a
/// locale-aware comparison that made a 20-row listing cost milliseconds (measured with perf).
enum JSONResponse {
    static func make(_ status: Int, _ object: [String: Any?], headers: [(String, String)] = []) -> Response {
        let data = (try? Response.jsonEncoder.encode(Value(object))) ?? Data("{}".utf8)
        return Response(status: status, headers: [("Content-Type", "application/json")] + headers, body: data)
    }

    /// A JSON value made from what handlers put in their dictionaries.
    enum Value: Encodable {
        case null
        case bool(Bool)
        case int(Int)
        case double(Double)
        case string(String)
        case array([Value])
        case object([String: Value])

        init(_ any: Any?) {
            switch any {
            case nil: self = .null
            case let value as String: self = .string(value)
            case let value as Bool: self = .bool(value)
            case let value as Int: self = .int(value)
            case let value as Double: self = .double(value)
            case let value as Date: self = .string(Response.timestamp(value))
            case let value as [String: Any?]: self = .object(value.mapValues { Value($0) })
            case let value as [String: Any]: self = .object(value.mapValues { Value($0) })
            case let value as [Any?]: self = .array(value.map { Value($0) })
            case let value as [Any]: self = .array(value.map { Value($0) })
            case let some?:
                // An Optional that arrived boxed in Any: unwrap it.
                let mirror = Mirror(reflecting: some)
                if mirror.displayStyle == .optional, let inner = mirror.children.first {
                    self = Value(inner.value)
                } else if mirror.displayStyle == .optional {
                    self = .null
                } else {
                    self = .string(String(describing: some))
                }
            }
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .null: try container.encodeNil()
            case .bool(let value): try container.encode(value)
            case .int(let value): try container.encode(value)
            case .double(let value): try container.encode(value)
            case .string(let value): try container.encode(value)
            case .array(let value): try container.encode(value)
            case .object(let value): try container.encode(value)
            }
        }
    }
}
