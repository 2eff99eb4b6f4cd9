import Crypto
import Foundation
import JobQueue
import Postgres

/// One management change as recorded: at most once per WABA, field and value in 10 minutes,
/// with the bytes of its value and Meta's time kept for the forward.
enum ManagementChange {
    /// The WABA a change is about. For `account_update`'s partner events the entry id can be the
    /// partner's business and the customer's WABA is `value.waba_info.waba_id`
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/account_update).
    static func waba(entryID: String, field: String, value: Any) -> String {
        guard field == "account_update", let info = (value as? [String: Any])?["waba_info"] as? [String: Any] else { return entryID }
        return info["waba_id"] as? String ?? (info["waba_id"] as? NSNumber)?.stringValue ?? entryID
    }

    /// Records the change and queues its processing; false for a duplicate.
    static func record(entryID: String, time: Int?, field: String, rawValue: Data, on connection: Connection) throws -> Bool {
        let value = try JSONSerialization.jsonObject(with: rawValue, options: [.fragmentsAllowed])
        let waba = ManagementChange.waba(entryID: entryID, field: field, value: value)
        let canonical = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        let key = Digest.sha256(Data("\(waba)\n\(field)\n".utf8) + canonical)
        // Duplicates arriving together meet at this lock; the later one sees the first.
        _ = try connection.query("SELECT pg_advisory_xact_lock(hashtextextended(encode($1, 'hex'), 0))", [key])
        let id = Identifiers.make("chg")
        let inserted = try connection.sql("""
            INSERT INTO management_changes (id, waba_id, field, value, dedupe_key, value_raw, entry_time)
            SELECT \(id), \(waba), \(field), \(PostgresRawJSON(String(decoding: canonical, as: UTF8.self)))::jsonb, \(key),
                   \(String(decoding: rawValue, as: UTF8.self)), \(time)
            WHERE NOT EXISTS (SELECT 1 FROM management_changes WHERE dedupe_key = \(key) AND received_at > now() - interval '10 minutes')
            RETURNING id
            """).first != nil
        if inserted {
            try JobQueue.enqueue(ProcessManagementChange.self, .init(changeId: id), on: connection)
        }
        return inserted
    }
}
