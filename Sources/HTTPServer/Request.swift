import Foundation

/// One HTTP request, read in full before it is handled.
public struct Request: Sendable {
    public let method: String
    public let path: String
    /// Header names are lower-cased.
    public let headers: [String: String]
    public let query: [String: String]
    public let body: Data
    public let requestID: String
    public let clientIP: String
    /// Path parameters (`{id}`) filled in by the router.
    public var parameters: [String: String] = [:]
    /// Query parameters given more than once, sorted; `query` holds the last value of each.
    public var repeatedQuery: [String] = []

    public init(method: String, path: String, headers: [String: String], query: [String: String], body: Data,
                requestID: String, clientIP: String) {
        self.method = method
        self.path = path
        self.headers = headers
        self.query = query
        self.body = body
        self.requestID = requestID
        self.clientIP = clientIP
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}
