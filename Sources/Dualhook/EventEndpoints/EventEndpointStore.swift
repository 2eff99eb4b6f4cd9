import Crypto
import Foundation
import JobQueue
import Postgres

/// The `event_endpoints` table and the endpoints' own secrets: the only writer of both. The
/// account's default endpoint is its `eventUrl`; the two are written together here, so they
/// never disagree.
enum EventEndpointStore {
    static let maxEndpointsPerAccount = 20

    /// 409 when the account has all the endpoints it may (a new one made by POST, or the default
    /// one made by setting `eventUrl`, named by `param`).
    static func requireRoom(accountID: String, param: String? = nil, on connection: Connection) throws {
        let count = try connection.sql("SELECT count(*) FROM event_endpoints WHERE account_id = \(accountID)").scalar(Int.self) ?? 0
        guard count < maxEndpointsPerAccount else {
            throw APIError(status: 409, code: "conflict",
                           message: "an account has at most \(maxEndpointsPerAccount) event endpoints; delete one first", param: param)
        }
    }

    static func find(_ id: String, accountID: String, on connection: Connection) throws -> EventEndpoint? {
        try connection.sql("""
            SELECT \(unescaped: EventEndpoint.columns) FROM event_endpoints WHERE id = \(id) AND account_id = \(accountID)
            """).first.map(EventEndpoint.init)
    }

    /// The endpoint, or 404 naming it.
    static func require(_ id: String, accountID: String, on connection: Connection) throws -> EventEndpoint {
        guard let found = try find(id, accountID: accountID, on: connection) else { throw APIError.notFound("event endpoint \(id)") }
        return found
    }

    static func list(accountID: String, page: Pagination, on connection: Connection) throws -> Page<EventEndpoint> {
        var filter = SQLFilter()
        filter.add("account_id = \(accountID)")
        filter.after(page, createdAt: "created_at", id: "id")
        let rows = try connection.sql("""
            SELECT \(unescaped: EventEndpoint.columns) FROM event_endpoints WHERE \(filter.sql) ORDER BY created_at DESC, id DESC LIMIT \(page.limit + 1)
            """).rows
        let endpoints = try rows.prefix(page.limit).map(EventEndpoint.init)
        let next = rows.count > page.limit ? endpoints.last.map { Pagination.cursor(createdAt: $0.createdAt, id: $0.endpointId) } : nil
        return Page(data: endpoints, nextCursor: next)
    }

    struct Fields {
        var url: String
        var description: String?
        var eventTypes: [String] = []
        var tenantIds: [String] = []
        var rateLimitPerSecond: Int?
    }

    /// A new endpoint with its own first secret (answered here only).
    static func create(accountID: String, _ fields: Fields, vault: Vault, on connection: Connection) throws -> EventEndpoint.WithSecret {
        let id = Identifiers.make("ep")
        try connection.sql("""
            INSERT INTO event_endpoints (id, account_id, url, description, event_types, tenant_ids, rate_limit_per_second)
            VALUES (\(id), \(accountID), \(fields.url), \(fields.description), \(fields.eventTypes)::text[], \(fields.tenantIds)::text[],
                    \(fields.rateLimitPerSecond))
            """)
        let secret = try SigningSecrets.add(.endpoint(id), vault: vault, on: connection)
        return .init(endpoint: try require(id, accountID: accountID, on: connection), secret: secret, previousSecretsExpireAt: nil)
    }

    /// Sets one column of an endpoint (the columns are this program's names, never input).
    static func update(_ id: String, accountID: String, column: String, to value: (any PostgresEncodable)?, cast: String = "",
                       on connection: Connection) throws {
        let changed = try connection.sql("""
            UPDATE event_endpoints SET \(unescaped: column) = \(value)\(unescaped: cast), updated_at = now()
            WHERE id = \(id) AND account_id = \(accountID) RETURNING is_default, url
            """).first
        if column == "url", let changed, try changed.decode(Bool.self, at: 0) {
            try AccountStore.setEventURL(try changed.decode(String.self, at: 1), accountID: accountID, on: connection)
        }
    }

    /// Removes the endpoint and its undelivered events for it; the default one takes the
    /// account's `eventUrl` with it.
    static func delete(_ id: String, accountID: String, on connection: Connection) throws -> Bool {
        guard let wasDefault = try connection.sql("""
            DELETE FROM event_endpoints WHERE id = \(id) AND account_id = \(accountID) RETURNING is_default
            """).scalar(Bool.self) else { return false }
        if wasDefault { try AccountStore.setEventURL(nil, accountID: accountID, on: connection) }
        return true
    }

    /// The account's `eventUrl` as its default endpoint: made, moved, or (nil) removed.
    static func setDefault(accountID: String, url: String?, on connection: Connection) throws {
        try AccountStore.setEventURL(url, accountID: accountID, on: connection)
        guard let url else {
            try connection.sql("DELETE FROM event_endpoints WHERE account_id = \(accountID) AND is_default")
            return
        }
        // A default endpoint made now counts toward the account's limit, as one made by POST does.
        if try connection.sql("SELECT 1 FROM event_endpoints WHERE account_id = \(accountID) AND is_default").first == nil {
            try requireRoom(accountID: accountID, param: "eventUrl", on: connection)
        }
        try connection.sql("""
            INSERT INTO event_endpoints AS p (account_id, url, is_default) VALUES (\(accountID), \(url), true)
            ON CONFLICT (account_id) WHERE is_default DO UPDATE SET url = EXCLUDED.url, updated_at = now()
            """)
    }

    /// A new secret for the endpoint; the ones before keep signing for `overlap` seconds. The
    /// default endpoint's secret is the account's.
    static func rotateSecret(_ endpoint: EventEndpoint, accountID: String, overlap: TimeInterval, vault: Vault,
                             on connection: Connection) throws -> EventEndpoint.WithSecret {
        let owner: SigningSecrets.Owner = endpoint.isDefault ? .account(accountID) : .endpoint(endpoint.endpointId)
        let rotated = try SigningSecrets.rotate(owner, overlap: overlap, vault: vault, on: connection)
        // No overlap: the previous secrets stopped now, and the endpoint's GET says null; so does this.
        return .init(endpoint: endpoint, secret: rotated.secret, previousSecretsExpireAt: overlap > 0 ? rotated.previousExpireAt : nil)
    }

    /// Disables an enabled endpoint: its undelivered events are held (kept, sent when it is
    /// enabled again; those that failed during this stretch of failures too) by a job queued
    /// here, and the account's other endpoints are told. `accountID` scopes an account's own
    /// request (`manual`). False when it was not enabled. Runs in the caller's transaction.
    @discardableResult
    static func disable(_ id: String, reason: EventEndpoint.DisabledReason, accountID: String? = nil, on connection: Connection) throws -> Bool {
        guard let row = try connection.sql("""
            UPDATE event_endpoints SET status = 'disabled', disabled_reason = \(reason.rawValue), disabled_at = now(), updated_at = now()
            WHERE id = \(id) AND status = 'enabled' AND (\(accountID)::text IS NULL OR account_id = \(accountID))
            RETURNING account_id, url, failing_since, last_error
            """).first else { return false }
        let accountID: String = try row.decode(at: 0)
        let failingSince = try row.decode(Date?.self, at: 2)
        // Holding a backlog can take a while: a job does it in batches, not this transaction.
        try SyncEndpointDeliveries.enqueue(id, on: connection)
        let notice = EndpointNotice(endpointId: id, url: try row.decode(at: 1), reason: reason, failingSince: failingSince,
                                    lastError: try row.decode(at: 3))
        try Outbox.emit(type: .endpointDisabled, accountID: accountID, dataJSON: try Outbox.json(notice), on: connection)
        return true
    }

    /// Writes `endpoint.test` for this endpoint; the events trigger sends it there and nowhere
    /// else. Answers the event's id.
    static func sendTest(_ endpoint: EventEndpoint, accountID: String, on connection: Connection) throws -> String {
        try Outbox.emit(type: .endpointTest, accountID: accountID,
                        dataJSON: try Outbox.json(EndpointNotice(endpointId: endpoint.endpointId, url: endpoint.url)), on: connection)
    }

    /// Enables a disabled endpoint: its health starts afresh, its held events are released in
    /// order of creation by a job queued here, and the other endpoints are told. Nil when the
    /// endpoint does not exist; unchanged when it was enabled.
    static func enable(_ id: String, accountID: String, on connection: Connection) throws -> EventEndpoint? {
        if let url = try connection.sql("""
            UPDATE event_endpoints SET status = 'enabled', disabled_reason = NULL, disabled_at = NULL, failing_since = NULL,
                last_error = NULL, warned_days = 0, health_updated_at = now(), updated_at = now()
            WHERE id = \(id) AND account_id = \(accountID) AND status = 'disabled'
            RETURNING url
            """).scalar(String.self) {
            try SyncEndpointDeliveries.enqueue(id, on: connection)
            try Outbox.emit(type: .endpointEnabled, accountID: accountID,
                            dataJSON: try Outbox.json(EndpointNotice(endpointId: id, url: url)), on: connection)
        }
        return try find(id, accountID: accountID, on: connection)
    }

    /// An endpoint's health, in one place for `/metrics` and `/ops/accounts`: `disabled` (its
    /// events held), `failing` (deliveries failing since `failingSince`) or `healthy`.
    static let healthSQL = "CASE WHEN status = 'disabled' THEN 'disabled' WHEN failing_since IS NOT NULL THEN 'failing' ELSE 'healthy' END"

    /// One account's endpoints by health, as `/ops/accounts` shows them.
    struct Health: Sendable {
        var healthy = 0, failing = 0, disabled = 0
        var total: Int { healthy + failing + disabled }
    }

    /// Each account's endpoints by health (accounts without endpoints are left out), for the
    /// operator console: which account's receivers fail, which hold events.
    static func healthByAccount(on connection: Connection) throws -> [String: Health] {
        var byAccount: [String: Health] = [:]
        for row in try connection.sql("""
            SELECT account_id, \(unescaped: healthSQL), count(*)::int FROM event_endpoints GROUP BY 1, 2
            """).rows {
            let account = try row.decode(String.self, at: 0), count = try row.decode(Int.self, at: 2)
            switch try row.decode(String.self, at: 1) {
            case "disabled": byAccount[account, default: Health()].disabled = count
            case "failing": byAccount[account, default: Health()].failing = count
            default: byAccount[account, default: Health()].healthy = count
            }
        }
        return byAccount
    }

    /// Every account's endpoints by health (`healthSQL`), for `/metrics`; every state named, 0 too.
    static func healthCounts(on connection: Connection) throws -> [(state: String, count: Int)] {
        let rows = try connection.sql("""
            SELECT \(unescaped: healthSQL), count(*)::int FROM event_endpoints GROUP BY 1
            """).rows
        let counted = Dictionary(uniqueKeysWithValues: try rows.map { (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 1)) })
        return ["healthy", "failing", "disabled"].map { ($0, counted[$0] ?? 0) }
    }
}
