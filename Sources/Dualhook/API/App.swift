import Crypto
import Foundation
import HTTPServer
import Logging
import Postgres

/// The HTTP front: routes, authentication, rate limits, idempotency, one transaction per
/// request, and the mapping of every error to the envelope of API.md. It only validates,
/// writes and enqueues; it never calls Meta or an account's endpoint.
public final class App: Sendable {
    public let configuration: AppConfiguration
    public let pool: ConnectionPool
    let router: Router<RouteEntry>
    let logger = Logger(label: "api")
    /// The HTTP server's counters, which /metrics renders with the database's figures.
    public let metrics: HTTPMetrics

    public init(configuration: AppConfiguration, poolSize: Int, metrics: HTTPMetrics) {
        self.configuration = configuration
        self.pool = ConnectionPool(url: configuration.databaseURL, maxConnections: poolSize, acquireTimeout: 5,
                                   applicationName: "dualhook-serve")
        self.metrics = metrics
        var router = Router<RouteEntry>()
        App.registerRoutes(&router)
        self.router = router
    }

    /// Every route of the API, grouped by feature.
    static func registerRoutes(_ router: inout Router<RouteEntry>) {
        OperationsRoutes.register(&router)
        AccountRoutes.register(&router)
        SessionRoutes.register(&router)
        PageRoutes.register(&router)
        EventRoutes.register(&router)
        ConnectionRoutes.register(&router)
        RevealRoutes.register(&router)
        TenantRoutes.register(&router)
        MetaCallbackRoutes.register(&router)
        HealthRoutes.register(&router)
    }

    /// The routes as (method, pattern), for the OpenAPI check.
    public static var routeTable: [(method: String, pattern: String)] {
        var router = Router<RouteEntry>()
        registerRoutes(&router)
        return router.routes.map { ($0.method, $0.pattern) }
    }

    public func tooLarge(_ request: Request) -> Response {
        APIError.payloadTooLarge(limit: configuration.maxBodyBytes).response(requestID: request.requestID)
    }

    public func handle(_ request: Request) -> Response {
        var request = request
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            return APIError.notFound("route \(request.method) \(request.path)").response(requestID: request.requestID)
        case .methodNotAllowed(let allowed):
            var response = APIError.methodNotAllowed(allowed).response(requestID: request.requestID)
            response.route = "method_not_allowed"
            return response
        case .found(let route, let parameters):
            request.parameters = parameters
            var response = route.handler.plain.map { $0(request, self) } ?? run(route.handler, request: request)
            response.route = "\(route.method) \(route.pattern)"
            return response
        }
    }

    private func run(_ entry: RouteEntry, request: Request) -> Response {
        var window: RateLimitWindow?
        var caller: Caller?
        do {
            // Checked first: nothing (an Idempotency-Key included) is taken for a body we cannot read.
            if !request.body.isEmpty, !App.isJSON(request.header("Content-Type")) {
                throw APIError.unsupportedMediaType
            }
            return try pool.withConnection { connection in
                if entry.authenticated {
                    // Counted in an unlogged table: no durable commit of its own.
                    guard let token = App.bearerToken(request), token.hasPrefix("dh_live_"),
                          let (who, limits) = try RateLimitWindow.authenticate(keyHash: Digest.sha256(token), on: connection) else {
                        throw APIError.unauthorized
                    }
                    caller = who
                    window = limits
                    if limits.exceeded { throw APIError.rateLimited(retryAfter: limits.retryAfter) }
                }
                let key = request.method == "POST" && entry.storesReplies ? request.header("Idempotency-Key") : nil
                // One transaction, and so one durable commit, per request: the key's claim, the
                // route's writes and its jobs, and the stored answer.
                func serve(_ connection: Connection) throws -> Response {
                    var ticket: IdempotencyTicket?
                    if let key, let caller {
                        switch try Idempotency.claim(key: key, accountID: caller.accountID, request: request,
                                                     vault: configuration.vault, on: connection) {
                        case .replay(let stored):
                            return stored
                        case .proceed:
                            ticket = IdempotencyTicket(key: key, accountID: caller.accountID, requestHash: Idempotency.requestHash(request))
                        }
                    }
                    let context = APIContext(request: request, caller: caller, connection: connection, configuration: configuration,
                                             idempotency: entry.singleStatement ? ticket : nil)
                    let answer = try entry.handler(context)
                    if let ticket, !entry.singleStatement, answer.status < 500 {
                        try Idempotency.store(answer, ticket: ticket, vault: configuration.vault, on: connection)
                    }
                    return answer
                }
                // A single-statement route without a key is atomic on its own (autocommit).
                var response = entry.singleStatement && key == nil ? try serve(connection) : try connection.transaction(serve)
                window?.apply(to: &response)
                response.accountID = caller?.accountID
                return response
            }
        } catch let error as APIError {
            var response = error.response(requestID: request.requestID)
            window?.apply(to: &response)
            response.accountID = caller?.accountID
            return response
        } catch let error as PostgresError where error.isConnectivity {
            logger.warning("database unreachable while serving a request", ["request_id": request.requestID])
            return APIError.unavailable().response(requestID: request.requestID)
        } catch {
            logger.error("request failed", ["request_id": request.requestID, "error": "\(error)"])
            var response = APIError.internalError.response(requestID: request.requestID)
            window?.apply(to: &response)
            return response
        }
    }

    /// `application/json`, with or without parameters (`; charset=utf-8`).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let type = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() else { return false }
        return type == "application/json"
    }

    static func bearerToken(_ request: Request) -> String? {
        guard let header = request.header("Authorization") else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }
}
