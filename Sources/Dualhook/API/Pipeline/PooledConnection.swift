import HTTPServer
import Postgres

/// Lends the request one pooled connection for all its statements.
struct PooledConnection: Middleware {
    func handle(_ request: Request, context: inout RequestContext, next: Responder<RequestContext>) throws -> Response {
        try context.app.pool.withConnection { connection in
            context.connection = connection
            defer { context.connection = nil }
            return try next(request, &context)
        }
    }
}
