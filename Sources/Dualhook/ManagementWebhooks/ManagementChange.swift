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
    static func waba(entryID: String, field: String, rawValue: Data) -> String {
        guard field == "account_update",
              let value = try? JSONSerialization.jsonObject(with: rawValue, options: [.fragmentsAllowed]),
              let info = (value as? [String: Any])?["waba_info"] as? [String: Any] else { return entryID }
        return info["waba_id"] as? String ?? (info["waba_id"] as? NSNumber)?.stringValue ?? entryID
    }

    /// Records the change and queues its processing; false for a duplicate. The value is kept
    /// and hashed in the `CanonicalJSON` form the envelope's reading wrote (Foundation's
    /// sorted-keys serialisation was most of the callback's own CPU time).
    static func record(entryID: String, time: Int?, field: String, rawValue: Data, canonical: Data,
                       on connection: Connection) throws -> Bool {
        let waba = ManagementChange.waba(entryID: entryID, field: field, rawValue: rawValue)
        let key = Digest.sha256(Data("\(waba)\n\(field)\n".utf8) + canonical)
        let id = Identifiers.make("chg")
        let job = JobQueue.fragment(ProcessManagementChange.self, argsExpression: "jsonb_build_object('changeId', inserted.id)", from: "inserted")
        // Duplicates arriving together meet at this lock; the later one sees the first. The
        // insert is a statement of its own after it (its snapshot follows the lock), sent in
        // the same round trip; the change's job is queued by the same statement.
        let answers = try connection.pipeline([
            "SELECT pg_advisory_xact_lock(hashtextextended(encode(\(key), 'hex'), 0))",
            """
            WITH inserted AS (
                INSERT INTO management_changes (id, waba_id, field, value, dedupe_key, value_raw, entry_time)
                SELECT \(id), \(waba), \(field), \(PostgresRawJSON(String(decoding: canonical, as: UTF8.self)))::jsonb, \(key),
                       \(String(decoding: rawValue, as: UTF8.self)), \(time)
                WHERE NOT EXISTS (SELECT 1 FROM management_changes WHERE dedupe_key = \(key) AND received_at > now() - interval '10 minutes')
                RETURNING id),
            job AS (\(job.insert))
            SELECT id FROM inserted
            """,
        ])
        let inserted = answers[1].first != nil
        if inserted { JobQueue.wake(job.queue, after: connection) }
        return inserted
    }
}
