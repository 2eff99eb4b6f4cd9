/// Method + path pattern routing, with `{name}` segments as parameters.
public struct Router<Handler: Sendable>: Sendable {
    public struct Route: Sendable {
        public let method: String
        public let pattern: String
        let segments: [Segment]
        public let handler: Handler
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    public enum Match {
        case found(Route, parameters: [String: String])
        /// The path exists with other methods.
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    public private(set) var routes: [Route] = []
    /// Indices into `routes` by their number of segments, in the order they were added: a path
    /// is compared only with the routes it could match (the scan over every route was a
    /// visible part of each request).
    private var bySegments: [Int: [Int]] = [:]

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, _ handler: Handler) {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: true).map { part -> Segment in
            part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
        bySegments[segments.count, default: []].append(routes.count)
        routes.append(Route(method: method, pattern: pattern, segments: segments, handler: handler))
    }

    public func match(method: String, path: String) -> Match {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        var allowed: [String] = []
        for index in bySegments[parts.count] ?? [] {
            let route = routes[index]
            var parameters: [String: String] = [:]
            var matched = true
            for (segment, part) in zip(route.segments, parts) {
                switch segment {
                case .literal(let text) where text == part: continue
                case .parameter(let name):
                    parameters[name] = String(part).removingPercentEncoding ?? String(part)
                default: matched = false
                }
                if !matched { break }
            }
            guard matched else { continue }
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return .found(route, parameters: parameters)
            }
            allowed.append(route.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: Array(Set(allowed)).sorted())
    }
}
