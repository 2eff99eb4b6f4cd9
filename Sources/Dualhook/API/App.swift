import Crypto
import Foundation
import HTTPServer
import Logging
import Postgres

/// The HTTP front: routes, each run through its group's pipeline (`RouteGroup`: error
/// mapping, content type, authentication and rate limit, one transaction, idempotent replies).
/// It only validates, writes and enqueues; it never calls Meta or an account's endpoint.
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
        EventEndpointRoutes.register(&router)
        ConnectionRoutes.register(&router)
        RevealRoutes.register(&router)
        TenantRoutes.register(&router)
        MetaCallbackRoutes.register(&router)
        HealthRoutes.register(&router)
        DashboardRoutes.register(&router)
        UsageRoutes.register(&router)
    }

    /// The routes the OpenAPI document describes, as (method, pattern): all but the pages of
    /// the dashboard and the console, which are for people, not programs.
    public static var routeTable: [(method: String, pattern: String)] {
        var router = Router<RouteEntry>()
        registerRoutes(&router)
        return router.routes.filter { $0.handler.group.name != RouteGroup.dashboard.name }.map { ($0.method, $0.pattern) }
    }

    public func tooLarge(_ request: Request) -> Response {
        APIError.payloadTooLarge(limit: configuration.maxBodyBytes).response(requestID: request.requestID)
    }

    public func handle(_ request: Request) -> Response {
        var request = request
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            // People browse the dashboard and the console: a page, not the API's JSON.
            if request.path.hasPrefix("/dashboard/") || request.path.hasPrefix("/ops/") {
                return DashboardLayout.errorPage(status: 404, message: "There is no such page.")
            }
            return APIError.notFound("route \(request.method) \(request.path)").response(requestID: request.requestID)
        case .methodNotAllowed(let allowed):
            var response = APIError.methodNotAllowed(allowed).response(requestID: request.requestID)
            response.route = "method_not_allowed"
            return response
        case .malformed(let route, let parameter):
            // Through the route's own middleware, as the handler's own validation would be: a
            // request without a key is still 401, and counts against its key's budget.
            return run(route, request) { request, _ in
                if let answer = route.handler.malformed { return answer(request) }
                throw APIError.validationFailed(param: parameter, "\(parameter) in the path is not percent-encoded UTF-8")
            }
        case .found(let route, let parameters):
            request.parameters = parameters
            return run(route, request, endpoint: route.handler.endpoint)
        }
    }

    private func run(_ route: Router<RouteEntry>.Route, _ request: Request,
                     endpoint: Responder<RequestContext>) -> Response {
        var context = RequestContext(app: self)
        var response: Response
        do {
            response = try route.handler.group.middleware.respond(to: request, context: &context, endpoint: endpoint)
        } catch {
            // Every group starts with ErrorMapping; this is the net under it.
            logger.error("request failed outside the error mapping", ["request_id": request.requestID, "error": "\(error)"])
            response = APIError.internalError.response(requestID: request.requestID)
        }
        response.route = "\(route.method) \(route.pattern)"
        return response
    }
}
