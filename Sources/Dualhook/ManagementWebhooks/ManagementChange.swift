import Crypto
import Foundation
import JSON
import JobQueue
import Postgres

/// One management change as recorded, with the bytes of its value and Meta's time kept for the
/// forward. A change is a duplicate when the same WABA, field and value was recorded in the
/// last 10 minutes and no other value of its stream since (`stream`: the WABA, the field and
/// what the change is about, for the fields whose subject is known): Meta's repeat of a change
/// is dropped, but a change that really happens again (offboarded, reconnected, offboarded) is
/// recorded each time. (The value of `account_update` carries no time of its own.) For the
/// other fields the stream is the value itself: any repeat within 10 minutes is dropped.
enum ManagementChange {
    /// The WABA a change is about. For `account_update`'s partner events the entry id can be the
    /// partner's business and the customer's WABA is `value.waba_info.waba_id`
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/account_update).
    static func waba(entryID: String, field: String, rawValue: Data) -> String {
        guard field == "account_update",
              let value = try? JSONSerialization.jsonObject(with: rawValue, options: [.fragmentsAllowed]),
              let info = (value as? [String: Any])?["waba_info"] as? [String: Any] else { return entryID }
        return storable(info["waba_id"] as? String ?? (info["waba_id"] as? NSNumber)?.stringValue ?? entryID)
    }

    /// What a change is about within its WABA and field, so that a value repeated after another
    /// one of the same subject is news: a template by its id (template status, quality and
    /// category updates), a number by its display number (quality and name updates), and for
    /// `account_update` its `phone_number` (the Coexistence events) or else the WABA (bans,
    /// partner changes); nil for the other fields. Meta's values name them so:
    /// https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/message_template_status_update
    /// (`message_template_id`, a number),
    /// https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/phone_number_quality_update
    /// (`display_phone_number`),
    /// https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/account_update
    /// (`phone_number` in the Coexistence events).
    static func subject(field: String, canonical: Data) -> String? {
        let member: String
        switch field {
        case "message_template_status_update", "message_template_quality_update", "template_category_update":
            member = "message_template_id"
        case "phone_number_quality_update", "phone_number_name_update":
            member = "display_phone_number"
        case "account_update":
            member = "phone_number"
        default:
            return nil
        }
        guard let document = JSONDocument(utf8: canonical), let node = document.member(member) else { return "" }
        return node.string(in: document.bytes) ?? node.number(in: document.bytes) ?? ""
    }

    /// A change of Meta's callback, as the envelope's reading gave it.
    struct Incoming: Sendable {
        let entryID: String
        let time: Int?
        let field: String
        let rawValue: Data
        /// The value in the `CanonicalJSON` form the envelope's reading wrote: kept and hashed
        /// (Foundation's sorted-keys serialisation was most of the callback's own CPU time).
        let canonical: Data
    }

    /// What one callback delivery writes: its changes, in Meta's order, and the fields an
    /// override captures that reached it anyway (where and when only).
    struct Delivery: Sendable {
        var changes: [Incoming] = []
        var anomalies: [(waba: String?, field: String)] = []
        var isEmpty: Bool { changes.isEmpty && anomalies.isEmpty }
    }

    /// Group commit for Meta's callback: the deliveries arriving together are written in one
    /// transaction, each answered once it committed. One delivery's transaction (a lock, an
    /// insert, the job, COMMIT) cost more Postgres time than the change itself; written a batch
    /// at a time, the rate of changes is no longer the rate of commits. One batch at a time:
    /// the next gathers while one commits. Measured with `ops/bench/ingest`, 16 threads,
    /// alternating, three rounds each: 4,053, 4,729 and 5,505 changes/s with one batch at a
    /// time, 4,631, 3,815 and 4,301 with two; within this machine's noise, so the simpler.
    static let recorder = CommitBatcher<Delivery, Int>(maxItems: 64, concurrency: 1, write: recordAll)

    /// Records the deliveries' changes and anomalies and queues the changes' processing, in
    /// the transaction it is given, ending it: the locks, the inserts and `COMMIT` go in one
    /// round trip with its `BEGIN`. Answers, per delivery, how many changes were new (not
    /// duplicates).
    ///
    /// Changes of one stream arriving in different batches meet at the lock of their stream:
    /// the later batch's insert is a statement of its own after its locks, so its snapshot sees
    /// the first. Locks are taken in the order of their lock ids, so two batches sharing streams
    /// wait for each other rather than in a circle. (A process of an earlier
    /// version, which locked by value, does not meet these locks while both run: a duplicate
    /// may then be recorded twice, applied again and forwarded again.) Within a batch a change
    /// equal to the one before it in its stream is written once. The inserts, and so
    /// the changes' jobs, keep the order the changes arrived in (an offboarding and the
    /// reconnection after it are applied in that order).
    @Sendable static func recordAll(_ deliveries: [Delivery], on connection: Connection) throws -> [Int] {
        var columns = Columns()
        var anomalyWABAs: [String] = [], anomalyHasWABA: [Bool] = [], anomalyFields: [String] = []
        for (index, delivery) in deliveries.enumerated() {
            for change in delivery.changes { columns.append(change, delivery: index) }
            for anomaly in delivery.anomalies {
                anomalyWABAs.append(anomaly.waba ?? "")
                anomalyHasWABA.append(anomaly.waba != nil)
                anomalyFields.append(anomaly.field)
            }
        }
        // Generic plans: the changes are found by key whatever the batch (measured: planning
        // for the values was a third of the statement's time).
        var statements: [PostgresQuery] = [.genericPlans]
        var insertAt: Int?
        if !columns.keys.isEmpty {
            // The jobs are inserted in the changes' order too: their ids are the order they run in.
            let job = JobQueue.fragment(ProcessManagementChange.self, argsExpression: "jsonb_build_object('changeId', inserted.id)",
                                        from: "inserted JOIN fresh ON fresh.id = inserted.id ORDER BY fresh.n")
            statements.append("""
                SELECT pg_advisory_xact_lock(h) FROM (
                    SELECT DISTINCT hashtextextended(encode(s, 'hex'), 0) AS h FROM unnest(\(columns.streams)::bytea[]) s
                    ORDER BY h OFFSET 0) locks
                """)
            insertAt = statements.count
            statements.append("""
                WITH input AS (
                    SELECT * FROM unnest(\(columns.deliveries)::int[], \(columns.ids)::text[], \(columns.wabas)::text[],
                                         \(columns.fields)::text[], \(columns.values)::jsonb[], \(columns.keys)::bytea[],
                                         \(columns.raws)::text[], \(columns.times)::text[], \(columns.streams)::bytea[])
                         WITH ORDINALITY AS i(delivery, id, waba, field, value, key, raw, entry_time, stream, n)),
                ordered AS (
                    SELECT i.*, lag(i.key) OVER (PARTITION BY i.stream ORDER BY i.n) AS before FROM input i),
                -- A repeat of the change before it in the batch, or else of the latest one
                -- recorded for its stream, is dropped. The check stays a lookup by key
                -- per change (OFFSET 0 keeps it a subplan): as a join, a table grown since its
                -- statistics was hashed whole, a scan of every change of the last 10 minutes per
                -- batch. Changes of one batch share their time: a change recorded with this one's
                -- value at the same time as another value counts as overtaken (applied again
                -- rather than lost).
                fresh AS (
                    SELECT o.* FROM ordered o
                    WHERE o.key IS DISTINCT FROM o.before
                      AND (o.before IS NOT NULL OR NOT EXISTS (
                          SELECT 1 FROM management_changes m
                          WHERE m.dedupe_key = o.key AND m.received_at > now() - interval '10 minutes'
                            AND NOT EXISTS (SELECT 1 FROM management_changes l
                                            WHERE l.stream_key = o.stream AND l.received_at >= m.received_at
                                              AND l.dedupe_key <> o.key)
                          OFFSET 0))),
                inserted AS (
                    INSERT INTO management_changes (id, waba_id, field, value, dedupe_key, value_raw, entry_time, stream_key)
                    SELECT id, waba, field, value, key, raw, NULLIF(entry_time, '')::bigint, stream FROM fresh ORDER BY n
                    RETURNING id),
                job AS (\(job.insert))
                SELECT delivery FROM fresh
                """)
        }
        if !anomalyFields.isEmpty {
            statements.append("""
                INSERT INTO routing_anomalies (waba_id, field)
                SELECT CASE WHEN known THEN w END, f
                FROM unnest(\(anomalyWABAs)::text[], \(anomalyHasWABA)::bool[], \(anomalyFields)::text[]) AS a(w, known, f)
                """)
        }
        var counts = [Int](repeating: 0, count: deliveries.count)
        guard statements.count > 1 else { return counts }
        let answers = try connection.commit(with: statements)
        if let insertAt {
            for row in answers[insertAt].rows { counts[try row.decode(Int.self, at: 0)] += 1 }
            if counts.contains(where: { $0 > 0 }) { JobQueue.wake(ProcessManagementChange.queue, after: connection) }
        }
        return counts
    }

    /// Meta's text with U+0000 as U+FFFD: a bound parameter cannot carry it
    /// (`PostgresError.Kind.invalidParameter`), and a signed callback refused for it would be
    /// refused again at each of Meta's retries.
    static func storable(_ text: String) -> String {
        text.utf8.contains(0) ? String(text.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 }) : text
    }

    /// The batch's changes as one array per column, bound to `unnest`.
    private struct Columns {
        var deliveries: [Int] = [], ids: [String] = [], wabas: [String] = [], fields: [String] = []
        var values: [String] = [], keys: [Data] = [], raws: [String] = [], times: [String] = [], streams: [Data] = []

        mutating func append(_ change: Incoming, delivery: Int) {
            let waba = ManagementChange.waba(entryID: change.entryID, field: change.field, rawValue: change.rawValue)
            deliveries.append(delivery)
            ids.append(Identifiers.make("chg"))
            wabas.append(waba)
            fields.append(change.field)
            // `jsonb` refuses U+0000 (as U+FFFD here); Meta's bytes stay whole in `value_raw`
            // (the forward's), and the key is the canonical form's.
            values.append(String(decoding: CanonicalJSON.replacingNUL(change.canonical), as: UTF8.self))
            let key = Digest.sha256(Data("\(waba)\n\(change.field)\n".utf8) + change.canonical)
            keys.append(key)
            raws.append(String(decoding: change.rawValue, as: UTF8.self))
            times.append(change.time.map(String.init) ?? "")
            let subject = ManagementChange.subject(field: change.field, canonical: change.canonical)
            streams.append(subject.map { Digest.sha256(Data("\(waba)\n\(change.field)\n\($0)".utf8)) } ?? key)
        }
    }
}
