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
    /// Indices into `routes` by their number of segments and first segment, in the order they
    /// were added: a path is compared only with the routes it could match (a scan over every
    /// route, then over every route of its length, was a visible part of each request).
    private var byShape: [Shape: [Int]] = [:]
    /// Routes whose first segment is a parameter, by their number of segments.
    private var byLengthOpenFirst: [Int: [Int]] = [:]

    /// Routes without parameters that no earlier route could take from them, by path and
    /// method: the common exact paths (`/meta/webhook`, `/healthz`) found without splitting.
    private var exact: [String: [String: Int]] = [:]

    private struct Shape: Hashable {
        let count: Int
        let first: Substring
    }

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
            exact["/" + segments.map { if case .literal(let text) = $0 { text } else { "" } }.joined(separator: "/"),
                  default: [:]][method] = routes.count
        }
        switch segments.first {
        case .literal(let first)?: byShape[Shape(count: segments.count, first: Substring(first)), default: []].append(routes.count)
        default: byLengthOpenFirst[segments.count, default: []].append(routes.count)
        }
        routes.append(Route(method: method, pattern: pattern, segments: segments, handler: handler))
    }

    /// The routes a path of these parts could match, in the order they were added.
    private func candidates(_ parts: [Substring]) -> [Int] {
        let literal = parts.first.flatMap { byShape[Shape(count: parts.count, first: $0)] } ?? []
        let open = byLengthOpenFirst[parts.count] ?? []
        if open.isEmpty { return literal }
        if literal.isEmpty { return open }
        return (literal + open).sorted()
    }

    /// Whether `match` answers this method and path from the exact table (for tests).
    func answersExactly(method: String, path: String) -> Bool {
        exact[path].map { $0[method] ?? (method == "HEAD" ? $0["GET"] : nil) != nil } ?? false
    }

    public func match(method: String, path: String) -> Match {
        if let methods = exact[path], let index = methods[method] ?? (method == "HEAD" ? methods["GET"] : nil) {
            return .found(routes[index], parameters: [:])
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        var allowed: [String] = []
        for index in candidates(parts) {
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
