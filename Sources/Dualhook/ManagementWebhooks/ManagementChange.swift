import Crypto
import Foundation
import JobQueue
import Postgres

/// One management change as recorded: at most once per WABA, field and value in 10 minutes.
enum ManagementChange {
    /// Records the change and queues its processing; false for a duplicate.
    static func record(waba: String, field: String, value: Any, on connection: Connection) throws -> Bool {
        let canonical = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        let key = Digest.sha256(Data("\(waba)\n\(field)\n".utf8) + canonical)
        // Duplicates arriving together meet at this lock; the later one sees the first.
        _ = try connection.query("SELECT pg_advisory_xact_lock(hashtextextended(encode($1, 'hex'), 0))", [key])
        let id = Identifiers.make("chg")
        let inserted = try connection.query("""
            INSERT INTO management_changes (id, waba_id, field, value, dedupe_key)
            SELECT $1, $2, $3, $4::jsonb, $5
            WHERE NOT EXISTS (SELECT 1 FROM management_changes WHERE dedupe_key = $5 AND received_at > now() - interval '10 minutes')
            RETURNING id
            """, [id, waba, field, PostgresRawJSON(String(decoding: canonical, as: UTF8.self)), key]).first != nil
        if inserted {
            try JobQueue.enqueue(ProcessManagementChange.self, .init(changeId: id), on: connection)
        }
        return inserted
    }
}
