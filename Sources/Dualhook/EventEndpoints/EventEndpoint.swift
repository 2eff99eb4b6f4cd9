import Foundation
import Postgres

/// An event endpoint as the API answers it (`GET /api/v1/event-endpoints/{id}`). The secret is
/// never part of it: `Created` carries it once, on create and rotate.
struct EventEndpoint: Encodable, Sendable {
    enum Status: String, Encodable, Sendable, CaseIterable {
        case enabled, disabled
    }

    /// Why an endpoint was disabled.
    enum DisabledReason: String, Encodable, Sendable, CaseIterable {
        /// It answered `410 Gone`: the receiver says it is gone for good.
        case gone
        /// Every attempt failed for 5 days.
        case failing
        /// The account disabled it (`POST …/{id}/disable`, `PATCH {"status":"disabled"}`, the dashboard).
        case manual
    }

    /// How deliveries to it are going, as the latest attempts left it.
    struct Health: Encodable, Sendable {
        /// `healthy` or `failing`.
        let status: String
        @Nullable var failingSince: Date?
        @Nullable var lastError: String?
        @Nullable var lastSuccessAt: Date?
    }

    let endpointId: String
    let url: String
    @Nullable var description: String?
    let eventTypes: [String]
    let tenantIds: [String]
    let status: Status
    @Nullable var disabledReason: DisabledReason?
    @Nullable var disabledAt: Date?
    @Nullable var rateLimitPerSecond: Int?
    /// The account's `eventUrl`, signed with the account's signing secret.
    let isDefault: Bool
    let health: Health
    let createdAt: Date
    /// While a rotation's overlap runs, when the secrets before the current one stop signing;
    /// null when the current secret alone signs.
    @Nullable var previousSecretsExpireAt: Date?

    /// Read `FROM event_endpoints` (not aliased). The default endpoint's secrets are the account's.
    static let columns = """
        id, url, description, event_types::text, tenant_ids::text, status, disabled_reason, disabled_at,
        rate_limit_per_second, is_default, failing_since, last_error, last_success_at, created_at, account_id,
        CASE WHEN is_default
             THEN (SELECT max(k.expires_at) FROM account_signing_secrets k
                   WHERE k.account_id = event_endpoints.account_id AND k.expires_at > now())
             ELSE (SELECT max(s.expires_at) FROM event_endpoint_secrets s
                   WHERE s.endpoint_id = event_endpoints.id AND s.expires_at > now()) END
        """

    init(_ row: Row) throws {
        endpointId = try row.decode(at: 0)
        url = try row.decode(at: 1)
        description = try row.decode(at: 2)
        eventTypes = PostgresTextArray.parse(try row.decode(at: 3))
        tenantIds = PostgresTextArray.parse(try row.decode(at: 4))
        status = Status(rawValue: try row.decode(at: 5)) ?? .disabled
        disabledReason = try row.decode(String?.self, at: 6).flatMap(DisabledReason.init(rawValue:))
        disabledAt = try row.decode(at: 7)
        rateLimitPerSecond = try row.decode(at: 8)
        isDefault = try row.decode(at: 9)
        let failingSince = try row.decode(Date?.self, at: 10)
        health = Health(status: failingSince == nil ? "healthy" : "failing", failingSince: failingSince,
                        lastError: try row.decode(at: 11), lastSuccessAt: try row.decode(at: 12))
        createdAt = try row.decode(at: 13)
        previousSecretsExpireAt = try row.decode(at: 15)
    }

    /// The answer to create and rotate: the endpoint and, this once, its secret.
    struct WithSecret: Encodable {
        let endpoint: EventEndpoint
        let secret: String

        /// `previousSecretsExpireAt`: as the rotation left it (the endpoint was read before).
        init(endpoint: EventEndpoint, secret: String, previousSecretsExpireAt: Date?) {
            var endpoint = endpoint
            endpoint.previousSecretsExpireAt = previousSecretsExpireAt
            self.endpoint = endpoint
            self.secret = secret
        }

        func encode(to encoder: Encoder) throws {
            try endpoint.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(secret, forKey: .secret)
        }

        enum Keys: String, CodingKey { case secret }
    }
}

/// `data` of `endpoint.warning`, `endpoint.disabled`, `endpoint.enabled` and `endpoint.test`.
/// The first three go to the account's other endpoints (an account-level event has no tenant,
/// so an endpoint filtered to some tenants does not take them); the test goes to its own
/// endpoint only, whatever its filters.
struct EndpointNotice: Encodable {
    let endpointId: String
    let url: String
    /// `endpoint.disabled`: `gone`, `failing` or `manual`.
    var reason: EventEndpoint.DisabledReason?
    var failingSince: Date?
    /// `endpoint.warning`: the whole days it has been failing (1, then 3).
    var days: Int?
    var lastError: String?
}
