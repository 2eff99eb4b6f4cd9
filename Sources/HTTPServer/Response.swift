import Foundation
import Logging

/// One HTTP response. `route` and `accountID` only feed the access log and metrics.
public struct Response: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data
    public var route: String?
    public var accountID: String?

    public init(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll { $0.0.lowercased() == name.lowercased() }
        headers.append((name, value))
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public static let jsonEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Response.timestamp(date))
        }
        return encoder
    }()

    /// RFC 3339 in UTC with milliseconds.
    public static func timestamp(_ date: Date) -> String { Timestamp.rfc3339(date) }

    public static func json<T: Encodable>(_ status: Int, _ value: T) -> Response {
        let body = (try? jsonEncoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headers: [("Content-Type", contentType)], body: Data(text.utf8))
    }
}
