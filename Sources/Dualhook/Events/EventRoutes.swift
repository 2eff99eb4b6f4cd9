import Foundation
import HTTPServer
import JobQueue
import Postgres

/// `GET /api/v1/events`, `GET /api/v1/events/{id}` (with its attempts),
/// `POST /api/v1/events/{id}/redeliver`.
enum EventRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        router.add("GET", "/api/v1/events", RouteEntry(.api, query: ["limit", "cursor", "type", "since", "until", "deliveryStatus", "tenantId",
                                                                    "endpointId"], list))
        router.add("GET", "/api/v1/events/{id}", RouteEntry(.api, get))
        router.add("POST", "/api/v1/events/{id}/redeliver", RouteEntry(.api, redeliver))
    }

    static let types = EventType.allCases.map(\.rawValue)
    static let deliveryStatuses = ["pending", "delivered", "failed", "no_endpoint"]

    struct Event: Encodable {
        let id: String
        let type: String
        let createdAt: Date
        let data: RawJSON
        let deliveryStatus: String
        let attemptCount: Int
        @Nullable var deliveredAt: Date?
        @Nullable var nextAttemptAt: Date?
        /// One per endpoint the event goes to.
        var deliveries: [Delivery] = []
        var attempts: [Attempt]?
    }

    /// The event's delivery to one endpoint.
    struct Delivery: Encodable {
        let endpointId: String
        let url: String
        let status: String
        let attemptCount: Int
        @Nullable var deliveredAt: Date?
        @Nullable var nextAttemptAt: Date?
    }

    struct Attempt: Encodable {
        let attemptedAt: Date
        @Nullable var endpointId: String?
        let url: String
        @Nullable var statusCode: Int?
        let durationMs: Double
        @Nullable var error: String?
        @Nullable var responseBody: String?
    }

    static let columns = "id, type, created_at, data::text, delivery_status, attempts, delivered_at, next_attempt_at"

    static func event(_ row: Row) throws -> Event {
        Event(id: try row.decode(at: 0), type: try row.decode(at: 1), createdAt: try row.decode(at: 2),
              data: RawJSON(text: try row.decode(at: 3)), deliveryStatus: try row.decode(at: 4), attemptCount: try row.decode(at: 5),
              deliveredAt: try row.decode(at: 6), nextAttemptAt: try row.decode(at: 7))
    }

    static func list(_ context: APIContext) throws -> Response {
        let query = context.request.query
        let page = try Pagination(query: query)
        if let type = query["type"], !types.contains(type) {
            throw APIError.validationFailed(param: "type", "type must be one of \(types.joined(separator: ", "))")
        }
        if let status = query["deliveryStatus"], !deliveryStatuses.contains(status) {
            throw APIError.validationFailed(param: "deliveryStatus", "deliveryStatus must be one of \(deliveryStatuses.joined(separator: ", "))")
        }
        if let tenant = query["tenantId"], tenant.isEmpty || tenant.count > 128 {
            throw APIError.validationFailed(param: "tenantId", "tenantId must be 1 to 128 characters")
        }
        let since = try Timestamps.since(query)
        let until = try Timestamps.time(query, "until")
        if let endpoint = query["endpointId"] {
            guard (1...64).contains(endpoint.count) else {
                throw APIError.validationFailed(param: "endpointId", "endpointId must be 1 to 64 characters")
            }
            guard try context.connection.sql("""
                SELECT 1 FROM event_endpoints WHERE id = \(endpoint) AND account_id = \(context.account.accountID)
                """).first != nil else {
                throw APIError.notFound("event endpoint \(endpoint)", param: "endpointId")
            }
        }
        var filter = SQLFilter()
        filter.add("account_id = \(context.account.accountID)")
        filter.add(ifGiven: query["type"]) { "type = \($0)" }
        filter.add(ifGiven: query["deliveryStatus"]) { "delivery_status = \($0)" }
        filter.add(ifGiven: query["tenantId"]) { "data->>'tenantId' = \($0)" }
        filter.add(ifGiven: since) { "created_at >= \($0)" }
        filter.add(ifGiven: until) { "created_at < \($0)" }
        // Events that went (or go) to this endpoint: its deliveries, by the endpoint's index.
        filter.add(ifGiven: query["endpointId"]) {
            "id IN (SELECT d.event_id FROM event_deliveries d WHERE d.endpoint_id = \($0))"
        }
        filter.after(page, createdAt: "created_at", id: "id")
        let rows = try context.connection.sql("""
            SELECT \(unescaped: columns) FROM events WHERE \(filter.sql) ORDER BY created_at DESC, id DESC LIMIT \(page.limit + 1)
            """).rows
        let events = try withDeliveries(try rows.prefix(page.limit).map(event), on: context.connection)
        let next = rows.count > page.limit ? events.last.map { Pagination.cursor(createdAt: $0.createdAt, id: $0.id) } : nil
        return .json(200, Page(data: events, nextCursor: next))
    }

    static func get(_ context: APIContext) throws -> Response {
        let id = context.request.parameters["id"] ?? ""
        guard let row = try context.connection.sql("SELECT \(unescaped: columns) FROM events WHERE id = \(id) AND account_id = \(context.account.accountID)").first else {
            throw APIError.notFound("event \(id)")
        }
        var found = try withDeliveries([try event(row)], on: context.connection)[0]
        found.attempts = try context.connection.sql("""
            SELECT attempted_at, endpoint_id, url, status_code, duration_ms, error, response_body FROM event_attempts
            WHERE event_id = \(id) ORDER BY id
            """).rows.map {
            Attempt(attemptedAt: try $0.decode(at: 0), endpointId: try $0.decode(at: 1), url: try $0.decode(at: 2),
                    statusCode: try $0.decode(at: 3), durationMs: (try $0.decode(Double.self, at: 4) * 10).rounded() / 10,
                    error: try $0.decode(at: 5), responseBody: try $0.decode(at: 6))
        }
        return .json(200, found)
    }

    /// The events with their deliveries, read for the whole page at once.
    static func withDeliveries(_ events: [Event], on connection: Connection) throws -> [Event] {
        guard !events.isEmpty else { return events }
        var byEvent: [String: [Delivery]] = [:]
        for row in try connection.sql("""
            SELECT d.event_id, d.endpoint_id, p.url, d.status, d.attempts, d.delivered_at, d.next_attempt_at
            FROM event_deliveries d JOIN event_endpoints p ON p.id = d.endpoint_id
            WHERE d.event_id = ANY (\(events.map(\.id))::text[]) ORDER BY p.created_at, p.id
            """).rows {
            byEvent[try row.decode(String.self, at: 0), default: []].append(
                Delivery(endpointId: try row.decode(at: 1), url: try row.decode(at: 2), status: try row.decode(at: 3),
                         attemptCount: try row.decode(at: 4), deliveredAt: try row.decode(at: 5), nextAttemptAt: try row.decode(at: 6)))
        }
        return events.map { event in
            var event = event
            event.deliveries = byEvent[event.id] ?? []
            return event
        }
    }

    /// Delivers the event again now, to one endpoint (`{"endpointId"}`) or to every enabled
    /// endpoint whose filters take it: a retry that is waiting is brought forward, otherwise a
    /// new delivery job (with a fresh set of attempts) is queued.
    static func redeliver(_ context: APIContext) throws -> Response {
        let id = context.request.parameters["id"] ?? ""
        var endpointID: String?
        if !context.request.body.isEmpty {
            let body = try JSONObject(body: context.request.body)
            try body.rejectUnknown(allowed: ["endpointId"])
            endpointID = try body.string("endpointId", length: 1...64)
        }
        let endpoints = try queueRedelivery(id, accountID: context.account.accountID, endpointID: endpointID, on: context.connection)
        return JSONResponse.make(202, ["eventId": id, "deliveryStatus": endpoints.isEmpty ? "no_endpoint" : "pending",
                                       "endpointIds": endpoints])
    }

    /// The API's redeliver and the dashboard's share this.
    @discardableResult
    static func queueRedelivery(_ id: String, accountID: String, endpointID: String? = nil, on connection: Connection) throws -> [String] {
        try DeliveryStore.redeliver(eventID: id, accountID: accountID, endpointID: endpointID, on: connection)
    }
}
