import Crypto
import Foundation
import JobQueue
import Postgres

/// The delivery job's SQL: the event with its account's endpoint and secrets, in one read; then
/// the attempt, the event's status and the endpoint's health, in one statement.
struct DeliveryStore {
    let database: JobDatabase
    let vault: Vault

    struct Delivery {
        let eventID: String
        let accountID: String
        let body: Data
        let type: String
        let url: String
        let secrets: [String]
        /// The endpoint's state as this delivery began, so a steady state is not rewritten.
        let endpointFailing: Bool
        let endpointStale: Bool
    }

    /// nil when the event no longer exists; a delivery without `url` when the account has no
    /// event URL.
    func load(eventID: String) throws -> (delivery: Delivery, url: String?)? {
        guard let row = try database.withConnection({ try $0.query(DeliveryStore.loadSQL, [eventID]).first }) else { return nil }
        let accountID: String = try row.decode(at: 1)
        let url = try row.decode(String?.self, at: 5)
        let secrets = url == nil ? [] : try SigningSecrets.openAll(try row.decode(at: 6), accountID: accountID, vault: vault)
        let type: String = try row.decode(at: 2)
        let body = "{\"id\":\(DeliveryStore.quote(eventID)),\"type\":\(DeliveryStore.quote(type)),"
            + "\"createdAt\":\"\(try row.decode(String.self, at: 4))\",\"data\":\(try row.decode(String.self, at: 3))}"
        return (Delivery(eventID: eventID, accountID: accountID, body: Data(body.utf8), type: type, url: url ?? "",
                         secrets: secrets, endpointFailing: try row.decode(String.self, at: 7) == "failing",
                         endpointStale: try row.decode(Bool.self, at: 8)), url)
    }

    static let loadSQL = """
        SELECT e.id, e.account_id, e.type, e.data::text,
               to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), a.event_url,
               \(SigningSecrets.validSQL(account: "e.account_id")),
               COALESCE(p.status, 'healthy'), COALESCE(p.updated_at < now() - interval '5 seconds', true)
        FROM events e JOIN accounts a ON a.id = e.account_id LEFT JOIN event_endpoints p ON p.account_id = e.account_id
        WHERE e.id = $1
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
    func record(_ delivery: Delivery, attempt: Attempt, status: String, nextAttemptAt: Date?) throws {
        try database.withConnection { connection in
            let delivered = attempt.delivered
            // The endpoint's row is written when its state changes, and every few seconds while it holds.
            let writeEndpoint = delivery.endpointStale || delivery.endpointFailing == delivered
            try connection.sql("""
                WITH attempt AS (
                    INSERT INTO event_attempts (event_id, attempted_at, url, status_code, duration_ms, error, response_body)
                    VALUES (\(delivery.eventID), \(attempt.at), \(delivery.url), \(attempt.statusCode), \(attempt.durationMs),
                            \(attempt.error), \(attempt.responseBody))),
                event AS (
                    UPDATE events SET attempts = attempts + 1, delivery_status = \(status), next_attempt_at = \(nextAttemptAt),
                        delivered_at = CASE WHEN \(status == "delivered")::boolean THEN now() ELSE delivered_at END
                    WHERE id = \(delivery.eventID)),
                endpoint AS (
                    INSERT INTO event_endpoints AS p (account_id, status, failing_since, last_error, last_success_at)
                    SELECT \(delivery.accountID), \(delivered ? "healthy" : "failing"), CASE WHEN \(delivered)::boolean THEN NULL ELSE now() END,
                           \(attempt.error), CASE WHEN \(delivered)::boolean THEN now() END
                    WHERE \(writeEndpoint)::boolean
                    ON CONFLICT (account_id) DO UPDATE SET
                        status = EXCLUDED.status,
                        failing_since = CASE WHEN \(delivered)::boolean THEN NULL ELSE COALESCE(p.failing_since, now()) END,
                        last_error = CASE WHEN \(delivered)::boolean THEN p.last_error ELSE EXCLUDED.last_error END,
                        last_success_at = CASE WHEN \(delivered)::boolean THEN now() ELSE p.last_success_at END,
                        updated_at = now())
                SELECT 1
                """)
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
