import Crypto
import Foundation
import HTTPServer
import JobQueue
import Postgres

/// `/healthz` (the process is up), `/readyz` (the database answers), `/metrics` (Prometheus).
enum OperationsRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        router.add("GET", "/healthz", RouteEntry(.process, plain: { _, _ in .json(200, ["status": "ok"]) }))
        router.add("GET", "/readyz", RouteEntry(.process, plain: ready))
        router.add("GET", "/metrics", RouteEntry(.process, plain: metrics))
        router.add("GET", "/docs", RouteEntry(.process, plain: { _, _ in ReferencePage.response() }))
        router.add("GET", "/api/v1/openapi.json", RouteEntry(.process, plain: { _, _ in
            Response(status: 200, headers: [("Content-Type", "application/json")], body: OpenAPIDocument.json)
        }))
    }

    static func ready(_ request: Request, _ app: App) -> Response {
        do {
            _ = try app.pool.withConnection { try $0.sql("SELECT 1") }
            return .json(200, ["status": "ready"])
        } catch {
            return APIError.unavailable().response(requestID: request.requestID)
        }
    }

    static func metrics(_ request: Request, _ app: App) -> Response {
        guard let expected = app.configuration.metricsToken else {
            return APIError(status: 404, code: "not_found", message: "metrics are off: set DUALHOOK_METRICS_TOKEN to serve them")
                .response(requestID: request.requestID)
        }
        guard let presented = Authentication.bearerToken(request),
              ConstantTime.equals(Data(presented.utf8), Data(expected.utf8)) else {
            var response = APIError(status: 401, code: "unauthorized", message: "metrics need Authorization: Bearer <DUALHOOK_METRICS_TOKEN>")
                .response(requestID: request.requestID)
            response.setHeader("WWW-Authenticate", "Bearer")
            return response
        }
        var text = app.metrics.render()
        let pool = app.pool.stats
        text += "# HELP dualhook_db_pool_connections Database connections of this front process.\n"
        text += "# TYPE dualhook_db_pool_connections gauge\n"
        text += "dualhook_db_pool_connections{state=\"open\"} \(pool.open)\n"
        text += "dualhook_db_pool_connections{state=\"idle\"} \(pool.idle)\n"
        // Every database figure in one go on one connection: the engine's through its stats API
        // (the product does not read the engine's tables), the endpoints' and the counters. A
        // database that does not answer costs one wait, not one per read, and is said below.
        let read = try? app.pool.withConnection({
            (stats: try JobAdmin.stats(on: $0), workers: try JobAdmin.workers(on: $0),
             endpoints: try EventEndpointStore.healthCounts(on: $0), counted: try Counters.render(on: $0))
        })
        // Without the database those series are missing, and this says why (an alert on a
        // backlog would go quiet, not fire).
        text += "# HELP dualhook_database_up 1 when this front could read its figures from the database for this scrape.\n"
        text += "# TYPE dualhook_database_up gauge\ndualhook_database_up \(read == nil ? 0 : 1)\n"
        if let (stats, workers, _, _) = read {
            // As `jobs stats` counts them: `available` is due now, `scheduled` waits for its
            // time (a retry's backoff), so an alert on a backlog does not fire on retries.
            text += "# HELP dualhook_jobs Jobs by queue and state (available: due now; scheduled: due later).\n# TYPE dualhook_jobs gauge\n"
            for queue in stats {
                for (state, count) in queue.listed where count > 0 {
                    text += "dualhook_jobs{queue=\"\(queue.queue)\",state=\"\(state)\"} \(count)\n"
                }
            }
            text += "# HELP dualhook_queue_paused 1 while workers do not claim from the queue (paused in the console or with jobs pause).\n# TYPE dualhook_queue_paused gauge\n"
            for queue in stats { text += "dualhook_queue_paused{queue=\"\(queue.queue)\"} \(queue.pausedAt == nil ? 0 : 1)\n" }
            // Every queue is a series (0 live too), so an alert on a queue no worker serves fires.
            text += "# HELP dualhook_workers Worker processes by queue served: live (reported in the last 20 s) or silent (died, or cannot reach the database).\n# TYPE dualhook_workers gauge\n"
            var counts = Dictionary(stats.map { ($0.queue, (live: 0, silent: 0)) }, uniquingKeysWith: { first, _ in first })
            for worker in workers {
                for queue in worker.queueNames {
                    if worker.isLive { counts[queue, default: (0, 0)].live += 1 } else { counts[queue, default: (0, 0)].silent += 1 }
                }
            }
            for (queue, count) in counts.sorted(by: { $0.key < $1.key }) {
                text += "dualhook_workers{queue=\"\(queue)\",state=\"live\"} \(count.live)\n"
                text += "dualhook_workers{queue=\"\(queue)\",state=\"silent\"} \(count.silent)\n"
            }
        }
        if let endpoints = read?.endpoints {
            text += "# HELP dualhook_event_endpoints Event endpoints of every account: healthy, failing (deliveries failing now) or disabled (events held).\n"
            text += "# TYPE dualhook_event_endpoints gauge\n"
            for (state, count) in endpoints { text += "dualhook_event_endpoints{state=\"\(state)\"} \(count)\n" }
        }
        if let counted = read?.counted { text += counted }
        return .text(200, text, contentType: "text/plain; version=0.0.4; charset=utf-8")
    }
}
