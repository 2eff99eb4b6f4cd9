import HTTPServer
import Postgres

/// What the steps of a request's pipeline learn and pass inwards.
struct RequestContext {
    let app: App
    /// The pooled connection the request runs on, once `PooledConnection` has lent one.
    var connection: Connection?
    /// The authenticated caller and its rate-limit window, once `Authentication` has run.
    var caller: Caller?
    var window: RateLimitWindow?
    /// The dashboard or console session the cookie names, once `DashboardSignIn` has run.
    var session: DashboardSessions.Session?
}
