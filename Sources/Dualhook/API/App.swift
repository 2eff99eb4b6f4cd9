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
        var idempotencyKey: String?
        do {
            // Checked first: nothing (an Idempotency-Key included) is taken for a body we cannot read.
            if !request.body.isEmpty, !App.isJSON(request.header("Content-Type")) {
                throw APIError.unsupportedMediaType
            }
            return try pool.withConnection { connection in
                if entry.authenticated {
                    guard let token = App.bearerToken(request), token.hasPrefix("dh_live_"),
                          let (who, limits) = try RateLimitWindow.authenticate(keyHash: Digest.sha256(token), on: connection) else {
                        throw APIError.unauthorized
                    }
                    caller = who
                    window = limits
                    if limits.exceeded { throw APIError.rateLimited(retryAfter: limits.retryAfter) }
                    if request.method == "POST", entry.storesReplies, let key = request.header("Idempotency-Key") {
                        switch try Idempotency.claim(key: key, accountID: who.accountID, request: request,
                                                              vault: configuration.vault, on: connection) {
                        case .replay(let stored):
                            var replay = stored
                            limits.apply(to: &replay)
                            replay.accountID = who.accountID
                            return replay
                        case .proceed:
                            idempotencyKey = key
                        }
                    }
                }
                let ticket = idempotencyKey.flatMap { key in caller.map { IdempotencyTicket(key: key, accountID: $0.accountID) } }
                let context = APIContext(request: request, caller: caller, connection: connection, configuration: configuration,
                                         idempotency: entry.singleStatement ? ticket : nil)
                var response: Response
                do {
                    if entry.singleStatement {
                        response = try entry.handler(context)
                    } else {
                      response = try connection.transaction { _ in
                        let answer = try entry.handler(context)
                        if let key = idempotencyKey, let caller, answer.status < 500 {
                            try Idempotency.store(answer, key: key, accountID: caller.accountID, vault: configuration.vault,
                                                  on: connection)
                        }
                        return answer
                      }
                    }
                } catch {
                    if let key = idempotencyKey, let caller, !connection.isBroken {
                        Idempotency.release(key: key, accountID: caller.accountID, on: connection)
                    }
                    throw error
                }
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
