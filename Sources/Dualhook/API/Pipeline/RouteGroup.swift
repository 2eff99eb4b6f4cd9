import HTTPServer

/// A named pipeline that routes share: what runs before a handler and in what order.
struct RouteGroup: Sendable {
    let name: String
    let middleware: MiddlewareStack<RequestContext>
    /// Query parameters a route does not name are refused (the API); pages and Meta's
    /// callback take what arrives (a link can gain tracking parameters on its way).
    let refusesUnknownQuery: Bool

    init(_ name: String, refusesUnknownQuery: Bool = false, _ steps: [any Middleware<RequestContext>]) {
        self.name = name
        self.refusesUnknownQuery = refusesUnknownQuery
        self.middleware = MiddlewareStack(steps)
    }

    /// `/api/v1`: an API key, its rate limit, one transaction, and stored replies for
    /// `Idempotency-Key`.
    static let api = RouteGroup("api", refusesUnknownQuery: true, [ErrorMapping(), JSONBodyOnly(), PooledConnection(), Authentication(), Transaction(),
                                        IdempotentReplies()])
    /// `POST /api/v1/onboarding/sessions`: an API key and its rate limit; the route reserves
    /// the Idempotency-Key and stores its answer in a transaction shared with the sessions of
    /// other requests (`SessionBatch`, group commit).
    static let apiSharedCommit = RouteGroup("api-shared-commit", refusesUnknownQuery: true, [ErrorMapping(), JSONBodyOnly(), PooledConnection(),
                                                                        Authentication()])
    /// `/api/v1` routes whose answer must never be kept: a reveal of secrets is answered (and
    /// audited) each time, so an Idempotency-Key does not apply there.
    static let apiAnsweredEachTime = RouteGroup("api-answered-each-time", refusesUnknownQuery: true, [ErrorMapping(), JSONBodyOnly(), PooledConnection(),
                                                                          Authentication(), Transaction()])
    /// Public routes (the onboarding page): no key, one transaction.
    static let open = RouteGroup("open", [ErrorMapping(), JSONBodyOnly(), PooledConnection(), Transaction()])
    /// Meta's app callback: no key, and no connection or transaction of the request's own. Its
    /// writes join a transaction shared with the callbacks arriving meanwhile
    /// (`ManagementChange.recorder`, group commit), on a connection borrowed for that batch.
    static let metaCallback = RouteGroup("meta-callback", [ErrorMapping(), JSONBodyOnly()])
    /// The dashboard and the operator console: HTML errors, form bodies, one transaction, the
    /// cookie's session and a CSRF token on every form POST.
    static let dashboard = RouteGroup("dashboard", [PageErrors(), FormBodyOnly(), PooledConnection(), DashboardSignIn(), Transaction()])
    /// Routes that answer from the process alone.
    static let process = RouteGroup("process", [ErrorMapping()])
}
