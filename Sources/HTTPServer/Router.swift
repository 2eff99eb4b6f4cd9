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
        /// The route's, but this parameter's percent-escapes do not decode to UTF-8 (`%FF`, `%zz`):
        /// passed on as typed, it would name something the client never wrote.
        case malformed(Route, parameter: String)
        case notFound
    }

    public private(set) var routes: [Route] = []
    /// Indices into `routes` by their number of segments, in the order they were added: a path
    /// is compared only with the routes it could match (the scan over every route was a
    /// visible part of each request).
    private var bySegments: [Int: [Int]] = [:]

    /// Routes without parameters that no earlier route could take from them, by path and
    /// method: the common exact paths (`/meta/webhook`, `/healthz`) found without splitting.
    private var exact: [String: [String: Int]] = [:]

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, _ handler: Handler) {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: true).map { part -> Segment in
            part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
        let literal = segments.allSatisfy { if case .literal = $0 { true } else { false } }
        // Shadowed by an earlier route that could take the same request: same method (a HEAD
        // request falls back to GET, so those two count as one), and a pattern its path matches.
        let answersAlike = { (a: String, b: String) in a == b || (["GET", "HEAD"].contains(a) && ["GET", "HEAD"].contains(b)) }
        let shadowed = routes.contains { earlier in
            answersAlike(earlier.method, method) && earlier.segments.count == segments.count
                && zip(earlier.segments, segments).allSatisfy { pair in
                if case .parameter = pair.0 { true } else { pair.0 == pair.1 }
            }
        }
        if literal && !shadowed {
            exact["/" + pattern.split(separator: "/").joined(separator: "/"), default: [:]][method] = routes.count
        }
        bySegments[segments.count, default: []].append(routes.count)
        routes.append(Route(method: method, pattern: pattern, segments: segments, handler: handler))
    }

    /// The route the exact table gives this request, if any (HEAD served by GET).
    func exactIndex(method: String, path: String) -> Int? {
        guard let methods = exact[path] else { return nil }
        return methods[method] ?? (method == "HEAD" ? methods["GET"] : nil)
    }

    public func match(method: String, path: String) -> Match {
        if let index = exactIndex(method: method, path: path) { return .found(routes[index], parameters: [:]) }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        var allowed: [String] = []
        for index in bySegments[parts.count] ?? [] {
            let route = routes[index]
            var parameters: [String: String] = [:]
            var malformed: String?
            var matched = true
            for (segment, part) in zip(route.segments, parts) {
                switch segment {
                case .literal(let text) where text == part: continue
                case .parameter(let name):
                    if let decoded = String(part).removingPercentEncoding { parameters[name] = decoded } else if malformed == nil { malformed = name }
                default: matched = false
                }
                if !matched { break }
            }
            guard matched else { continue }
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                if let malformed { return .malformed(route, parameter: malformed) }
                return .found(route, parameters: parameters)
            }
            allowed.append(route.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: Array(Set(allowed)).sorted())
    }
}
