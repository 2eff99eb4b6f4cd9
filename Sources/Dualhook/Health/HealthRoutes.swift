import Foundation
import HTTPServer
import JobQueue
import Postgres

/// `GET /api/v1/connections/{id}/health`, `POST …/health/refresh` and
/// `POST …/heartbeat/confirm`.
enum HealthRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        router.add("GET", "/api/v1/connections/{id}/health", RouteEntry(.api, health))
        router.add("POST", "/api/v1/connections/{id}/health/refresh", RouteEntry(.api, refresh))
        router.add("POST", "/api/v1/connections/{id}/heartbeat/confirm", RouteEntry(.api, Heartbeat.confirm))
    }

    static func health(_ context: APIContext) throws -> Response {
        let connection = try ConnectionView.find(context.request.parameters["id"] ?? "", accountID: context.account.accountID,
                                                 on: context.connection)
        var health = connection["health"] as? [String: Any?] ?? [:]
        health["connectionId"] = connection["connectionId"] ?? nil
        return JSONResponse.make(200, health)
    }

    static func refresh(_ context: APIContext) throws -> Response {
        let id = context.request.parameters["id"] ?? ""
        guard let status = try context.connection.sql("SELECT status FROM connections WHERE id = \(id) AND account_id = \(context.account.accountID)").scalar(String.self) else {
            throw APIError.notFound("connection \(id)")
        }
        guard status == ConnectionStatus.active.rawValue else {
            throw APIError(status: 409, code: "conflict", message: "connection \(id) is \(status)")
        }
        try PollHealth.bringForward(id, on: context.connection)
        return JSONResponse.make(202, ["connectionId": id, "status": "refreshing"])
    }
}
