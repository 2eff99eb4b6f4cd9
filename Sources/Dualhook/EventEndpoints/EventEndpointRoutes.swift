import Foundation
import HTTPServer
import JobQueue
import Postgres

/// `GET/POST /api/v1/event-endpoints`, `GET/PATCH/DELETE /api/v1/event-endpoints/{id}`,
/// `POST …/{id}/rotate-secret`, `POST …/{id}/enable`, `POST …/{id}/disable`, `POST …/{id}/test`,
/// `POST …/{id}/recover`.
enum EventEndpointRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        router.add("GET", "/api/v1/event-endpoints", RouteEntry(.api, query: ["limit", "cursor"], list))
        router.add("POST", "/api/v1/event-endpoints", RouteEntry(.api, create))
        router.add("GET", "/api/v1/event-endpoints/{id}", RouteEntry(.api, get))
        router.add("PATCH", "/api/v1/event-endpoints/{id}", RouteEntry(.api, patch))
        router.add("DELETE", "/api/v1/event-endpoints/{id}", RouteEntry(.api, delete))
        router.add("POST", "/api/v1/event-endpoints/{id}/rotate-secret", RouteEntry(.api, rotateSecret))
        router.add("POST", "/api/v1/event-endpoints/{id}/enable", RouteEntry(.api, enable))
        router.add("POST", "/api/v1/event-endpoints/{id}/disable", RouteEntry(.api, disable))
        router.add("POST", "/api/v1/event-endpoints/{id}/test", RouteEntry(.api, test))
        router.add("POST", "/api/v1/event-endpoints/{id}/recover", RouteEntry(.api, recover))
    }

    static let maxFilterEntries = 100
    /// What create and update take.
    static let fields: Set<String> = ["url", "description", "eventTypes", "tenantIds", "rateLimitPerSecond"]
    /// What update takes besides: `status`, as `/enable` and `/disable` set it.
    static let updateFields = fields.union(["status"])
    static let maxOverlap: TimeInterval = 7 * 86_400

    static func list(_ context: APIContext) throws -> Response {
        .json(200, try EventEndpointStore.list(accountID: context.account.accountID, page: try Pagination(query: context.request.query),
                                               on: context.connection))
    }

    static func get(_ context: APIContext) throws -> Response {
        .json(200, try EventEndpointStore.require(id(context), accountID: context.account.accountID, on: context.connection))
    }

    static func id(_ context: APIContext) -> String { context.request.parameters["id"] ?? "" }

    static func create(_ context: APIContext) throws -> Response {
        let body = try JSONObject(body: context.request.body)
        try body.rejectUnknown(allowed: fields)
        let url = try body.string("url", required: true, length: 1...2048) ?? ""
        _ = try URLRules.outbound(url, param: "url", maxLength: 2048, allowPrivate: context.configuration.allowPrivateTargets)
        var fields = EventEndpointStore.Fields(url: url)
        fields.description = try body.string("description", length: 1...500)
        fields.eventTypes = try eventTypes(body) ?? []
        fields.tenantIds = try tenantIds(body) ?? []
        fields.rateLimitPerSecond = try body.integer("rateLimitPerSecond", range: 1...1000)
        try EventEndpointStore.requireRoom(accountID: context.account.accountID, on: context.connection)
        let created = try EventEndpointStore.create(accountID: context.account.accountID, fields,
                                                    vault: context.configuration.vault, on: context.connection)
        return .json(201, created)
    }

    /// A list of event types (`eventTypes` of an endpoint, `types` of a recover), each one of
    /// EventRoutes.types, without repeats.
    static func eventTypes(_ body: JSONObject, field: String = "eventTypes") throws -> [String]? {
        guard let types = try body.stringArray(field, maxCount: maxFilterEntries) else { return nil }
        if let unknown = types.first(where: { !EventRoutes.types.contains($0) }) {
            throw APIError.validationFailed(param: field, "\(field) has \(unknown), which is not an event type; the types are \(EventRoutes.types.joined(separator: ", "))")
        }
        return Array(Set(types)).sorted()
    }

    static func tenantIds(_ body: JSONObject) throws -> [String]? {
        guard let tenants = try body.stringArray("tenantIds", maxCount: maxFilterEntries) else { return nil }
        guard tenants.allSatisfy({ (1...128).contains($0.count) }) else {
            throw APIError.validationFailed(param: "tenantIds", "each of tenantIds must be 1 to 128 characters")
        }
        // A tenant id no session can have (blank, or with control characters) would filter out everything.
        for tenant in tenants { _ = try SessionRequest.visible(tenant, param: "tenantIds") }
        return Array(Set(tenants)).sorted()
    }

    static func patch(_ context: APIContext) throws -> Response {
        let body = try JSONObject(body: context.request.body)
        try body.rejectUnknown(allowed: updateFields)
        let id = id(context)
        let account = context.account.accountID
        let connection = context.connection
        _ = try EventEndpointStore.require(id, accountID: account, on: connection)
        // Every field is checked before any is written: a bad one leaves the endpoint as it was.
        var status: EventEndpoint.Status?
        if body.sent("status") {
            guard let text = try body.string("status"), let parsed = EventEndpoint.Status(rawValue: text) else {
                throw APIError.validationFailed(param: "status", "status must be enabled or disabled")
            }
            status = parsed
        }
        var url: String?
        if body.sent("url") {
            guard let text = try body.string("url", length: 1...2048) else {
                throw APIError.validationFailed(param: "url", "url cannot be null: an endpoint always has one (DELETE removes it)")
            }
            _ = try URLRules.outbound(text, param: "url", maxLength: 2048, allowPrivate: context.configuration.allowPrivateTargets)
            url = text
        }
        let description = try body.string("description", length: 1...500)
        // `null` clears a filter, as `[]` does: every type, every tenant.
        let types = body.sent("eventTypes") ? try eventTypes(body) ?? [] : nil
        let tenants = body.sent("tenantIds") ? try tenantIds(body) ?? [] : nil
        let rateLimit = try body.integer("rateLimitPerSecond", range: 1...1000)

        if let url { try EventEndpointStore.update(id, accountID: account, column: "url", to: url, on: connection) }
        if body.sent("description") {
            try EventEndpointStore.update(id, accountID: account, column: "description", to: description, on: connection)
        }
        if let types {
            try EventEndpointStore.update(id, accountID: account, column: "event_types", to: types, cast: "::text[]", on: connection)
        }
        if let tenants {
            try EventEndpointStore.update(id, accountID: account, column: "tenant_ids", to: tenants, cast: "::text[]", on: connection)
        }
        if body.sent("rateLimitPerSecond") {
            try EventEndpointStore.update(id, accountID: account, column: "rate_limit_per_second", to: rateLimit, on: connection)
        }
        switch status {
        case .enabled?: _ = try EventEndpointStore.enable(id, accountID: account, on: connection)
        case .disabled?: try EventEndpointStore.disable(id, reason: .manual, accountID: account, on: connection)
        case nil: break
        }
        return try get(context)
    }

    static func delete(_ context: APIContext) throws -> Response {
        let id = id(context)
        guard try EventEndpointStore.delete(id, accountID: context.account.accountID, on: context.connection) else {
            throw APIError.notFound("event endpoint \(id)")
        }
        return JSONResponse.make(200, ["endpointId": id, "deleted": true])
    }

    static func rotateSecret(_ context: APIContext) throws -> Response {
        let body = try JSONObject(body: context.request.body, allowEmpty: true)
        try body.rejectUnknown(allowed: ["overlapSeconds"])
        let overlap = try body.integer("overlapSeconds", range: 0...Int(maxOverlap)).map(TimeInterval.init) ?? SigningSecrets.defaultOverlap
        let endpoint = try EventEndpointStore.require(id(context), accountID: context.account.accountID, on: context.connection)
        return .json(200, try EventEndpointStore.rotateSecret(endpoint, accountID: context.account.accountID, overlap: overlap,
                                                              vault: context.configuration.vault, on: context.connection))
    }

    static func enable(_ context: APIContext) throws -> Response {
        try JSONObject(body: context.request.body, allowEmpty: true).rejectUnknown(allowed: [])
        let id = id(context)
        guard let endpoint = try EventEndpointStore.enable(id, accountID: context.account.accountID, on: context.connection) else {
            throw APIError.notFound("event endpoint \(id)")
        }
        return .json(200, endpoint)
    }

    /// The account pauses an endpoint itself (`disabledReason: manual`): its events are held
    /// and go out when it is enabled, as for an endpoint Dualhook disabled. Unchanged when it
    /// was disabled already.
    static func disable(_ context: APIContext) throws -> Response {
        try JSONObject(body: context.request.body, allowEmpty: true).rejectUnknown(allowed: [])
        let id = id(context)
        let account = context.account.accountID
        try EventEndpointStore.disable(id, reason: .manual, accountID: account, on: context.connection)
        return .json(200, try EventEndpointStore.require(id, accountID: account, on: context.connection))
    }

    /// An `endpoint.test` event for this endpoint alone, delivered as any event is (signed,
    /// retried, its attempts kept), so an integrator can try a receiver without waiting for a
    /// real event. 409 for a disabled endpoint, as a redelivery to it is.
    static func test(_ context: APIContext) throws -> Response {
        let body = try JSONObject(body: context.request.body, allowEmpty: true)
        try body.rejectUnknown(allowed: [])
        let account = context.account.accountID
        let endpoint = try EventEndpointStore.require(id(context), accountID: account, on: context.connection)
        guard endpoint.status == .enabled else {
            throw APIError(status: 409, code: "conflict", message: "event endpoint \(endpoint.endpointId) is disabled: enable it first")
        }
        let event = try EventEndpointStore.sendTest(endpoint, accountID: account, on: context.connection)
        return JSONResponse.make(202, ["endpointId": endpoint.endpointId, "eventId": event])
    }

    static func recover(_ context: APIContext) throws -> Response {
        let body = try JSONObject(body: context.request.body)
        try body.rejectUnknown(allowed: ["since", "until", "types", "onlyUndelivered"])
        let now = Date()
        guard let sinceText = try body.string("since", required: true, length: 1...40), let since = Timestamps.parse(sinceText) else {
            throw APIError.validationFailed(param: "since", "since must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z")
        }
        var until = now
        if let untilText = try body.string("until", length: 1...40) {
            guard let parsed = Timestamps.parse(untilText) else {
                throw APIError.validationFailed(param: "until", "until must be an RFC 3339 time, e.g. 2026-12-02T00:00:00Z")
            }
            until = min(parsed, now)
        }
        guard since < until else {
            throw APIError.validationFailed(param: "since", "since must be before until (and before now)")
        }
        let types = try eventTypes(body, field: "types") ?? []
        let onlyUndelivered = try body.bool("onlyUndelivered") ?? false
        let account = context.account.accountID
        let endpoint = try EventEndpointStore.require(id(context), accountID: account, on: context.connection)
        guard endpoint.status == .enabled else {
            throw APIError(status: 409, code: "conflict",
                           message: "event endpoint \(endpoint.endpointId) is disabled: enable it first (its held events go out then)")
        }
        let range = DeliveryStore.recoverable(endpointID: endpoint.endpointId, accountID: account, since: since, until: until, types: types,
                                              onlyUndelivered: onlyUndelivered)
        let queued = try context.connection.sql("SELECT count(*) \(range)").scalar(Int.self) ?? 0
        if queued > 0 {
            try JobQueue.enqueue(RecoverEvents.self, .init(endpointId: endpoint.endpointId, accountId: account, since: since,
                                                            until: until, types: types, onlyUndelivered: onlyUndelivered),
                                 on: context.connection)
        }
        return JSONResponse.make(202, ["endpointId": endpoint.endpointId, "queued": queued])
    }
}
