import HTTPServer

/// One transaction, and so one durable commit, per request: the route's reads and writes, the
/// jobs it enqueues, and its stored idempotent reply.
struct Transaction: Middleware {
    func handle(_ request: Request, context: inout RequestContext, next: Responder<RequestContext>) throws -> Response {
        guard let connection = context.connection else { preconditionFailure("Transaction runs inside PooledConnection") }
        return try connection.transaction { _ in try next(request, &context) }
    }
}
