/// One step of a request's pipeline: it may answer by itself, or hand the request on to `next`
/// and adjust what comes back (Hummingbird's `MiddlewareProtocol`, without async: every
/// request already runs on a thread of its own). `Context` is what the steps tell each other,
/// the authenticated caller or the open transaction, for example.
public protocol Middleware<Context>: Sendable {
    associatedtype Context
    func handle(_ request: Request, context: inout Context, next: Responder<Context>) throws -> Response
}

/// The rest of the pipeline, as seen from one step.
public typealias Responder<Context> = (Request, inout Context) throws -> Response

/// Middleware applied in order, the first outermost, around an endpoint.
public struct MiddlewareStack<Context>: Sendable {
    public let steps: [any Middleware<Context>]

    public init(_ steps: [any Middleware<Context>]) {
        self.steps = steps
    }

    /// The same stack with more steps inside it.
    public func appending(_ more: [any Middleware<Context>]) -> MiddlewareStack {
        MiddlewareStack(steps + more)
    }

    public func respond(to request: Request, context: inout Context, endpoint: Responder<Context>) throws -> Response {
        try respond(from: 0, request, &context, endpoint)
    }

    private func respond(from index: Int, _ request: Request, _ context: inout Context, _ endpoint: Responder<Context>) throws -> Response {
        guard index < steps.count else { return try endpoint(request, &context) }
        return try steps[index].handle(request, context: &context) { request, context in
            try respond(from: index + 1, request, &context, endpoint)
        }
    }
}
