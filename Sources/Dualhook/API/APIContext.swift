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
    /// The reserved Idempotency-Key of a single-statement route, whose handler stores its own
    /// reply in that statement (`Idempotency.storeFragment`).
    let idempotency: IdempotencyTicket?

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

/// A reserved Idempotency-Key.
struct IdempotencyTicket: Sendable {
    let key: String
    let accountID: String
    let requestHash: Data
}

struct RouteEntry: Sendable {
    let authenticated: Bool
    let handler: RouteHandler
    /// The handler does all its writes in one statement (atomic on its own), so the request
    /// needs no BEGIN/COMMIT round trips; it stores its idempotent reply in that statement.
    let singleStatement: Bool
    /// Set for the few routes that answer without a transaction (health, readiness, metrics).
    let plain: (@Sendable (Request, App) -> Response)?
    /// False where an answer must never be kept: a reveal of secrets is answered (and audited)
    /// each time, so an Idempotency-Key does not apply there.
    let storesReplies: Bool

    init(authenticated: Bool, singleStatement: Bool = false, storesReplies: Bool = true, handler: @escaping RouteHandler) {
        self.authenticated = authenticated
        self.handler = handler
        self.singleStatement = singleStatement
        self.storesReplies = storesReplies
        self.plain = nil
    }

    init(plain: @escaping @Sendable (Request, App) -> Response) {
        self.authenticated = false
        self.singleStatement = false
        self.handler = { _ in Response(status: 500) }
        self.storesReplies = false
        self.plain = plain
    }
}
