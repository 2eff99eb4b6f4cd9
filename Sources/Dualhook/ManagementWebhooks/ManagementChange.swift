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

    /// A change of Meta's callback, as the envelope's reading gave it.
    struct Incoming {
        let entryID: String
        let time: Int?
        let field: String
        let rawValue: Data
        /// The value in the `CanonicalJSON` form the envelope's reading wrote: kept and hashed
        /// (Foundation's sorted-keys serialisation was most of the callback's own CPU time).
        let canonical: Data
    }

    /// Records the changes and queues their processing, and ends the request's transaction:
    /// the changes' advisory locks, their inserts and `COMMIT` go in one round trip with the
    /// transaction's `BEGIN`. Answers how many were new (not duplicates).
    ///
    /// Duplicates arriving together meet at the lock of their dedupe key; the later one sees
    /// the first (its insert is a statement of its own after the lock, so its snapshot follows
    /// it). The keys are locked first, in their order, so two deliveries sharing changes wait
    /// for each other rather than in a circle; the inserts, and so the changes' jobs, keep
    /// Meta's order (an offboarding and the reconnection after it are applied in that order).
    static func recordAll(_ changes: [Incoming], on connection: Connection) throws -> Int {
        guard !changes.isEmpty else { return 0 }  // the transaction ends as it would have
        let job = JobQueue.fragment(ProcessManagementChange.self, argsExpression: "jsonb_build_object('changeId', inserted.id)", from: "inserted")
        let keyed = changes.map { change -> (key: Data, change: Incoming, waba: String) in
            let waba = ManagementChange.waba(entryID: change.entryID, field: change.field, rawValue: change.rawValue)
            return (Digest.sha256(Data("\(waba)\n\(change.field)\n".utf8) + change.canonical), change, waba)
        }
        let keys = Set(keyed.map(\.key)).sorted { $0.lexicographicallyPrecedes($1) }
        var statements: [PostgresQuery] = keys.map { "SELECT pg_advisory_xact_lock(hashtextextended(encode(\($0), 'hex'), 0))" }
        for (key, change, waba) in keyed {
            statements.append("""
                WITH inserted AS (
                    INSERT INTO management_changes (id, waba_id, field, value, dedupe_key, value_raw, entry_time)
                    SELECT \(Identifiers.make("chg")), \(waba), \(change.field),
                           \(PostgresRawJSON(String(decoding: change.canonical, as: UTF8.self)))::jsonb, \(key),
                           \(String(decoding: change.rawValue, as: UTF8.self)), \(change.time)
                    WHERE NOT EXISTS (SELECT 1 FROM management_changes WHERE dedupe_key = \(key) AND received_at > now() - interval '10 minutes')
                    RETURNING id),
                job AS (\(job.insert))
                SELECT id FROM inserted
                """)
        }
        let answers = try connection.commit(with: statements)
        let inserted = answers.dropFirst(keys.count).filter { $0.first != nil }.count
        if inserted > 0 { JobQueue.wake(job.queue, after: connection) }
        return inserted
    }
}
