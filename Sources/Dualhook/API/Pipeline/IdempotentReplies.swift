import HTTPServer

/// `Idempotency-Key` on POSTs: claimed in the request's transaction, the handler's answer
/// stored in it, a stored answer replayed instead of running the handler again.
struct IdempotentReplies: Middleware {
    func handle(_ request: Request, context: inout RequestContext, next: Responder<RequestContext>) throws -> Response {
        guard request.method == "POST", let key = request.header("Idempotency-Key") else { return try next(request, &context) }
        guard let connection = context.connection, let caller = context.caller else {
            preconditionFailure("IdempotentReplies runs inside Authentication and Transaction")
        }
        let vault = context.app.configuration.vault
        switch try Idempotency.claim(key: key, accountID: caller.accountID, request: request, vault: vault, on: connection) {
        case .replay(let stored):
            return stored
        case .proceed(let ticket):
            let answer = try next(request, &context)
            if answer.status < 500 {
                try Idempotency.store(answer, ticket: ticket, vault: vault, on: connection)
            }
            return answer
        }
    }
}
