import Foundation
import HTTPServer
import JobQueue
import Logging
import Postgres

/// Lifecycle events are written here in the transaction that causes them; delivery reads
/// this table later, so an event exists exactly when its cause committed.
enum Outbox {
    @discardableResult
    static func emit(type: EventType, accountID: String, dataJSON: String, on connection: Connection) throws -> String {
        let id = Identifiers.make("evt")
        try connection.sql("INSERT INTO events (id, account_id, type, data) VALUES (\(id), \(accountID), \(type.rawValue), \(PostgresRawJSON(dataJSON))::jsonb)")
        // The insert trigger queued the delivery; its workers are woken after the commit.
        JobQueue.wake(DeliverEvent.queue, after: connection)
        countOutcome(type, dataJSON: dataJSON, after: connection)
        return id
    }

    /// One event of `type` for each row a statement's own change yields, in that statement:
    /// `changes` are its `WITH` queries, `rows` selects `account_id` and `data` (jsonb) from
    /// them. A sweep ends a batch of rows and says so in one round trip, and the events table
    /// keeps one writer. Returns how many were emitted.
    @discardableResult
    static func emitAll(type: EventType, with changes: PostgresQuery, rows: PostgresQuery, on connection: Connection) throws -> Int {
        let count = try connection.sql("""
            \(changes)
            INSERT INTO events (id, account_id, type, data)
            SELECT dualhook_id('evt'), emitted.account_id, \(type.rawValue), emitted.data FROM (\(rows)) emitted
            """).affectedRows
        if count > 0 { JobQueue.wake(DeliverEvent.queue, after: connection) }
        return count
    }

    /// An event's `data` from an `Encodable` payload (account-level events have no tenant).
    static func json<T: Encodable>(_ payload: T) throws -> String {
        // The API's encoder: sorted keys, RFC 3339 times, as every answer prints them.
        String(decoding: try Response.jsonEncoder.encode(payload), as: UTF8.self)
    }

    /// An onboarding session's end, counted for /metrics by outcome and reason once it commits.
    static func countOutcome(_ type: EventType, dataJSON: String, after connection: Connection) {
        let outcome: String
        switch type {
        case .onboardingCompleted: outcome = "completed"
        case .onboardingAwaitingNumber: outcome = "awaiting_number"
        case .onboardingFailed: outcome = "failed"
        default: return
        }
        let data = (try? JSONSerialization.jsonObject(with: Data(dataJSON.utf8))) as? [String: Any]
        let reason = data?["reason"] as? String ?? ""
        // Reasons are this program's words; anything else is not a label value.
        let label = ProvisioningFailure.reasons.contains(reason) ? reason : (reason.isEmpty ? "" : "other")
        Counters.shared.add("dualhook_onboarding_outcomes_total", [("outcome", outcome), ("reason", label)], after: connection)
    }

    /// An event's `data`: `fields` (JSON values; nils left out) and the session's metadata
    /// spliced in as stored, so it round-trips exactly as the account sent it.
    static func data(_ fields: [String: Any?], metadataJSON: String?) -> String {
        let present = fields.compactMapValues { $0 }
        let encoded = (try? JSONSerialization.data(withJSONObject: present, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        var text = String(decoding: encoded, as: UTF8.self)
        guard let metadataJSON else { return text }
        text.removeLast()  // the closing brace
        return text + (present.isEmpty ? "" : ",") + "\"metadata\":" + metadataJSON + "}"
    }
}
