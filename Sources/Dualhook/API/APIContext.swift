import Foundation
import HTTPServer
import Postgres

/// What a route handler gets: the request, the caller (for authenticated routes), and the
/// connection whose transaction the whole request runs in.
public struct APIContext {
    public let request: Request
    public let caller: Caller?
    public let connection: Connection
    public let configuration: AppConfiguration
    /// For work that needs a connection besides the request's own (a shared commit's retry).
    let pool: ConnectionPool
    /// The signed-in dashboard or console user's session (dashboard routes only).
    var session: DashboardSessions.Session? = nil

    /// The authenticated account; only authenticated routes call this.
    public var account: Caller {
        guard let caller else { preconditionFailure("an authenticated route ran without a caller") }
        return caller
    }
}

/// The account and API key behind a request.
public struct Caller: Sendable {
    public let accountID: String
    public let keyID: String
    /// The account's redirect origins, read with the key so session creation needs no extra query.
    public let redirectOrigins: [String]
    /// The account's trial ended with no plan chosen, on a plan whose `after_trial` is
    /// `block_onboarding`: new sessions answer 402 `plan_required`.
    public var onboardingBlocked = false
}

/// How a route answers.
typealias RouteHandler = @Sendable (APIContext) throws -> Response

/// A route: the pipeline of its group and the endpoint at its end.
struct RouteEntry: Sendable {
    let group: RouteGroup
    let endpoint: @Sendable (Request, inout RequestContext) throws -> Response
    /// What a request whose path parameter is not percent-encoded UTF-8 gets instead of a 400
    /// naming it (`answeringMalformed`): a page for a person who followed a mangled link.
    private(set) var malformed: (@Sendable (Request) -> Response)?

    func answeringMalformed(_ answer: @escaping @Sendable (Request) -> Response) -> RouteEntry {
        var entry = self
        entry.malformed = answer
        return entry
    }

    /// A route whose handler works in the request's database transaction. `query` names the
    /// query parameters it reads; in a group that refuses others, any other one is a 400
    /// naming it, rather than a filter silently ignored.
    init(_ group: RouteGroup, query: [String] = [], _ handler: @escaping RouteHandler) {
        self.group = group
        let known = Set(query)
        self.endpoint = { request, context in
            if group.refusesUnknownQuery, let unknown = request.query.keys.sorted().first(where: { !known.contains($0) }) {
                let accepted = query.isEmpty ? "it takes no query parameters" : "it takes \(query.joined(separator: ", "))"
                throw APIError.validationFailed(param: unknown, "unknown query parameter \(unknown): \(accepted)")
            }
            // Only the last value would count: a second filter or limit silently dropped.
            if group.refusesUnknownQuery, let repeated = request.repeatedQuery.first {
                throw APIError.validationFailed(param: repeated, "query parameter \(repeated) is given more than once: give it once")
            }
            guard let connection = context.connection else {
                preconditionFailure("route group \(group.name) gives its handlers no database connection")
            }
            return try handler(APIContext(request: request, caller: context.caller, connection: connection,
                                          configuration: context.app.configuration, pool: context.app.pool, session: context.session))
        }
    }

    /// A route that borrows a database connection itself, only when it needs one (Meta's
    /// callback: a delivery waiting for the shared commit of others holds none).
    init(_ group: RouteGroup, borrowing handler: @escaping @Sendable (Request, App) throws -> Response) {
        self.group = group
        self.endpoint = { request, context in try handler(request, context.app) }
    }

    /// A route that answers from the process alone (health, metrics, documents).
    init(_ group: RouteGroup, plain: @escaping @Sendable (Request, App) -> Response) {
        self.group = group
        self.endpoint = { request, context in plain(request, context.app) }
    }
}
