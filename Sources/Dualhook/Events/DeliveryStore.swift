import Crypto
import Foundation
import Postgres

/// The delivery job's SQL: the event with its account's endpoint and secrets and a lease on one
/// of the account's delivery slots, in one statement; then the attempt, the event's status, the
/// endpoint's health and the slot's release, in another.
struct DeliveryStore {
    let database: ConnectionPool
    let vault: Vault

    struct Delivery {
        let eventID: String
        let accountID: String
        let body: Data
        let type: String
        let url: String
        let secrets: [String]
        let slot: Int
    }

    enum Start {
        case ready(Delivery)
        /// The account has no event URL: nothing to deliver to.
        case noEndpoint
        /// All of the account's slots are leased; `failing` says whether its endpoint is.
        case busy(failing: Bool)
    }

    /// nil when the event no longer exists.
    func begin(eventID: String, jobID: Int64, slots: Int, lease: TimeInterval) throws -> Start? {
        for _ in 0..<2 {
            guard let row = try database.withConnection({ try $0.query(DeliveryStore.beginSQL, [eventID, jobID, slots, lease]).first }) else {
                return nil
            }
            let accountID: String = try row.decode(at: 1)
            guard let url = try row.decode(String?.self, at: 5) else { return .noEndpoint }
            if let slot = try row.decode(Int?.self, at: 6) {
                let secrets = try PostgresTextArray.parse(try row.decode(String.self, at: 8))
                    .map { try SigningSecrets.open($0, accountID: accountID, vault: vault) }
                let body = "{\"id\":\(DeliveryStore.quote(eventID)),\"type\":\(DeliveryStore.quote(try row.decode(String.self, at: 2))),"
                    + "\"createdAt\":\"\(try row.decode(String.self, at: 4))\",\"data\":\(try row.decode(String.self, at: 3))}"
                return .ready(Delivery(eventID: eventID, accountID: accountID, body: Data(body.utf8), type: try row.decode(at: 2),
                                       url: url, secrets: secrets, slot: slot))
            }
            if try row.decode(Int.self, at: 7) >= slots { return .busy(failing: try row.decode(String.self, at: 9) == "failing") }
            // The account's first delivery (or a larger slot count): make its slots, then lease one.
            try database.withConnection {
                try $0.query("""
                    INSERT INTO event_delivery_slots (account_id, slot) SELECT $1, g FROM generate_series(1, $2) g
                    ON CONFLICT DO NOTHING
                    """, [accountID, slots])
            }
        }
        return .busy(failing: false)
    }

    static let beginSQL = """
        WITH e AS (
            SELECT e.id, e.account_id, e.type, e.data::text AS data,
                   to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at, a.event_url
            FROM events e JOIN accounts a ON a.id = e.account_id WHERE e.id = $1),
        free AS (
            SELECT s.account_id, s.slot FROM event_delivery_slots s, e
            WHERE s.account_id = e.account_id AND e.event_url IS NOT NULL AND s.slot <= $3
              AND (s.locked_until IS NULL OR s.locked_until < now())
            ORDER BY s.slot LIMIT 1 FOR UPDATE OF s SKIP LOCKED),
        taken AS (
            UPDATE event_delivery_slots s SET job_id = $2, locked_until = now() + make_interval(secs => $4)
            FROM free WHERE s.account_id = free.account_id AND s.slot = free.slot RETURNING s.slot)
        SELECT e.id, e.account_id, e.type, e.data, e.created_at, e.event_url,
               (SELECT slot::int FROM taken),
               (SELECT count(*)::int FROM event_delivery_slots s WHERE s.account_id = e.account_id AND s.slot <= $3),
               ARRAY(SELECT k.sealed_secret FROM account_signing_secrets k
                     WHERE k.account_id = e.account_id AND (k.expires_at IS NULL OR k.expires_at > now())
                     ORDER BY k.created_at DESC, k.id DESC)::text,
               COALESCE((SELECT p.status FROM event_endpoints p WHERE p.account_id = e.account_id), 'healthy')
        FROM e
        """

    struct Attempt {
        let at: Date
        let statusCode: Int?
        let durationMs: Double
        let error: String?
        let responseBody: String?
        var delivered: Bool { error == nil }
    }

    /// `status`: `delivered`, `pending` (a retry is due at `nextAttemptAt`) or `failed`.
    func record(_ delivery: Delivery, jobID: Int64, attempt: Attempt, status: String, nextAttemptAt: Date?) throws {
        try database.withConnection { connection in
            try connection.query("""
                WITH attempt AS (
                    INSERT INTO event_attempts (event_id, attempted_at, url, status_code, duration_ms, error, response_body)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)),
                event AS (
                    UPDATE events SET attempts = attempts + 1, delivery_status = $8, next_attempt_at = $9,
                        delivered_at = CASE WHEN $8 = 'delivered' THEN now() ELSE delivered_at END
                    WHERE id = $1),
                endpoint AS (
                    INSERT INTO event_endpoints AS p (account_id, status, failing_since, last_error, last_success_at)
                    VALUES ($10, CASE WHEN $11 THEN 'healthy' ELSE 'failing' END, CASE WHEN $11 THEN NULL ELSE now() END,
                            $6, CASE WHEN $11 THEN now() END)
                    ON CONFLICT (account_id) DO UPDATE SET
                        status = EXCLUDED.status,
                        failing_since = CASE WHEN $11 THEN NULL ELSE COALESCE(p.failing_since, now()) END,
                        last_error = CASE WHEN $11 THEN p.last_error ELSE $6 END,
                        last_success_at = CASE WHEN $11 THEN now() ELSE p.last_success_at END,
                        updated_at = now()
                    -- A steady state is written every few seconds, not on every delivery.
                    WHERE p.status IS DISTINCT FROM EXCLUDED.status OR p.updated_at < now() - interval '5 seconds'),
                released AS (
                    UPDATE event_delivery_slots SET job_id = NULL, locked_until = NULL
                    WHERE account_id = $10 AND slot = $12 AND job_id = $13)
                SELECT 1
                """, [delivery.eventID, attempt.at, delivery.url, attempt.statusCode, attempt.durationMs, attempt.error,
                      attempt.responseBody, status, nextAttemptAt, delivery.accountID, attempt.delivered, delivery.slot, jobID])
        }
    }

    func markNoEndpoint(_ eventID: String) throws {
        try database.withConnection {
            try $0.query("UPDATE events SET delivery_status = 'no_endpoint', next_attempt_at = NULL WHERE id = $1", [eventID])
        }
    }

    static func quote(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
