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
}

/// How a route answers.
typealias RouteHandler = @Sendable (APIContext) throws -> Response

struct RouteEntry: Sendable {
    let authenticated: Bool
    let handler: RouteHandler
    /// Set for the few routes that answer without a transaction (health, readiness, metrics).
    let plain: (@Sendable (Request, App) -> Response)?

    init(authenticated: Bool, handler: @escaping RouteHandler) {
        self.authenticated = authenticated
        self.handler = handler
        self.plain = nil
    }

    init(plain: @escaping @Sendable (Request, App) -> Response) {
        self.authenticated = false
        self.handler = { _ in Response(status: 500) }
        self.plain = plain
    }
}
