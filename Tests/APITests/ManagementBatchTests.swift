import Crypto
import Foundation
import Postgres
import TestSupport
import Testing
@testable import Dualhook

/// Meta's callbacks arriving together, written in one transaction (`ManagementChange.recordAll`,
/// as `ManagementChange.recorder` runs it).
@Suite struct ManagementBatchTests {
    /// A string with a quote, a backslash, non-ASCII and a scalar outside the BMP, as JSON text.
    static let awkward = #"\u00e9 \"q\\ 𝄞"#

    /// Meta's bytes (spaced, keys unsorted) and the canonical form the envelope's reading makes.
    func change(_ n: Int, time: Int? = 1_760_000_000) -> ManagementChange.Incoming {
        let raw = Data(#"{ "n": \#(n), "alert_type": "\#(Self.awkward)" }"#.utf8)
        let canonical = Data(#"{"alert_type":"é \"q\\ 𝄞","n":\#(n)}"#.utf8)
        return ManagementChange.Incoming(entryID: "333", time: time, field: "account_alerts", rawValue: raw, canonical: canonical)
    }

    func key(_ change: ManagementChange.Incoming) -> Data {
        Digest.sha256(Data("333\naccount_alerts\n".utf8) + change.canonical)
    }

    /// The recorded changes in the order of their jobs, which is the order they are processed in.
    func recorded(_ c: Connection) throws -> [String] {
        try c.sql("""
            SELECT (m.value->>'n') || ' ' || COALESCE(m.entry_time::text, '-') FROM jobs j
            JOIN management_changes m ON m.id = j.args->>'changeId'
            WHERE j.kind = 'management.process' ORDER BY j.id
            """).rows.map { try $0.decode(String.self, at: 0) }
    }

    @Test func eachDeliveryOfABatchIsAnsweredItsOwnNewChangesInTheOrderTheyArrived() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        // Arrival against the order of the keys (by which duplicates are found), so a batch
        // written in key order would fail the order checks below.
        let arrival = (1...5).sorted { key(change($0)).lexicographicallyPrecedes(key(change($1))) }.reversed().map { $0 }
        let (a, b, c3, d, e) = (arrival[0], arrival[1], arrival[2], arrival[3], arrival[4])
        try db.with { c throws in
            let batch = [
                ManagementChange.Delivery(changes: [change(a), change(b, time: nil)]),
                // The first delivery's first change again: written once, for the first.
                ManagementChange.Delivery(changes: [change(a), change(c3)]),
                ManagementChange.Delivery(anomalies: [("444", "messages"), (nil, "calls"), ("", "history")]),
            ]
            let counts = try c.transaction { try ManagementChange.recordAll(batch, on: $0) }
            #expect(counts == [2, 1, 0])
            #expect(try recorded(c) == ["\(a) 1760000000", "\(b) -", "\(c3) 1760000000"])
            #expect(try c.sql("SELECT COALESCE(waba_id, '(null)') || ' ' || field FROM routing_anomalies ORDER BY id").rows
                        .map { try $0.decode(String.self, at: 0) } == ["444 messages", "(null) calls", " history"])

            // Every column as written: Meta's bytes kept apart from the canonical value.
            let row = try #require(try c.sql("""
                SELECT waba_id, field, value->>'alert_type', (value->>'n')::int, value_raw, dedupe_key, entry_time
                FROM management_changes WHERE (value->>'n')::int = \(a)
                """).first)
            #expect(try row.decode(String.self, at: 0) == "333" && row.decode(String.self, at: 1) == "account_alerts")
            #expect(try row.decode(String.self, at: 2) == "é \"q\\ 𝄞" && row.decode(Int.self, at: 3) == a)
            #expect(try row.decode(String.self, at: 4) == String(decoding: change(a).rawValue, as: UTF8.self))
            #expect(try row.decode(Data.self, at: 5) == key(change(a)))
            #expect(try row.decode(Int?.self, at: 6) == 1_760_000_000)

            // A later batch: what is already recorded (within 10 minutes) is a duplicate.
            let again = try c.transaction {
                try ManagementChange.recordAll([ManagementChange.Delivery(changes: [change(d), change(c3), change(e)]),
                                                ManagementChange.Delivery(changes: [change(b, time: nil)])], on: $0)
            }
            #expect(again == [2, 0])
            #expect(try recorded(c) == ["\(a) 1760000000", "\(b) -", "\(c3) 1760000000", "\(d) 1760000000", "\(e) 1760000000"])
            #expect(try c.sql("SELECT count(DISTINCT dedupe_key) = count(*) FROM management_changes").scalar(Bool.self) == true)
        }
    }

    /// A change that really happens again is recorded each time; Meta's repeat of the latest
    /// change of its subject is not. Offboarded, reconnected, offboarded again within minutes
    /// (a Coexistence number, `account_update`'s `phone_number`); templates are subjects apart.
    @Test func aValueThatComesBackAfterAnotherIsNewsAndARepeatIsNot() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        func update(_ event: String, phone: String = "15550102306") -> ManagementChange.Incoming {
            let canonical = Data(#"{"event":"\#(event)","phone_number":"\#(phone)"}"#.utf8)
            return ManagementChange.Incoming(entryID: "444", time: nil, field: "account_update", rawValue: canonical, canonical: canonical)
        }
        func template(_ id: Int, _ event: String) -> ManagementChange.Incoming {
            let canonical = Data(#"{"event":"\#(event)","message_template_id":\#(id)}"#.utf8)
            return ManagementChange.Incoming(entryID: "444", time: nil, field: "message_template_status_update", rawValue: canonical, canonical: canonical)
        }
        func record(_ changes: [ManagementChange.Incoming], on c: Connection) throws -> Int {
            try c.transaction { try ManagementChange.recordAll([ManagementChange.Delivery(changes: changes)], on: $0) }[0]
        }
        try db.with { c throws in
            #expect(try record([update("ACCOUNT_OFFBOARDED")], on: c) == 1)
            #expect(try record([update("ACCOUNT_OFFBOARDED")], on: c) == 0, "Meta's repeat")
            #expect(try record([update("ACCOUNT_RECONNECTED")], on: c) == 1)
            #expect(try record([update("ACCOUNT_OFFBOARDED")], on: c) == 1, "offboarded again")
            // Another number's stream is its own.
            #expect(try record([update("ACCOUNT_RECONNECTED", phone: "15550109999")], on: c) == 1)
            #expect(try record([update("ACCOUNT_OFFBOARDED")], on: c) == 0)
            // In one batch: a repeat right after is dropped, one after another value is not.
            #expect(try record([update("ACCOUNT_RECONNECTED"), update("ACCOUNT_RECONNECTED"), update("ACCOUNT_OFFBOARDED"),
                                update("ACCOUNT_RECONNECTED")], on: c) == 3)
            // Templates: another template's change in between does not make a repeat news.
            #expect(try record([template(1, "APPROVED"), template(2, "APPROVED"), template(1, "APPROVED")], on: c) == 2)
            #expect(try record([template(1, "APPROVED")], on: c) == 0)
            #expect(try record([template(1, "PAUSED"), template(1, "APPROVED")], on: c) == 2)
            let events = try c.sql("""
                SELECT value->>'event' FROM management_changes WHERE field = 'account_update' AND value->>'phone_number' = '15550102306'
                ORDER BY received_at, (SELECT j.id FROM jobs j WHERE j.args->>'changeId' = management_changes.id)
                """).rows.map { try $0.decode(String.self, at: 0) }
            #expect(events == ["ACCOUNT_OFFBOARDED", "ACCOUNT_RECONNECTED", "ACCOUNT_OFFBOARDED", "ACCOUNT_RECONNECTED", "ACCOUNT_OFFBOARDED",
                               "ACCOUNT_RECONNECTED"])
        }
    }

    /// Two fronts' batches sharing changes, run at once in opposite orders: each change is
    /// recorded once (the later batch waits at the key's lock and then sees the first), and
    /// neither waits for the other in a circle.
    @Test func concurrentBatchesSharingChangesRecordEachOnce() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        let rounds = 40
        let counts = LockedList<Int>(), failures = LockedList<String>()
        let threads = (0..<2).map { side in
            Thread {
                do {
                    let c = try db.connect()
                    defer { c.close() }
                    for round in 0..<rounds {
                        var values = (0..<4).map { round * 10 + $0 }
                        if side == 1 { values.reverse() }
                        let delivered = try c.transaction {
                            try ManagementChange.recordAll(values.map { ManagementChange.Delivery(changes: [change($0)]) }, on: $0)
                        }
                        counts.append(delivered.reduce(0, +))
                    }
                } catch {
                    failures.append("\(error)")
                }
            }
        }
        threads.forEach { $0.start() }
        #expect(eventually(timeout: 60) { counts.all.count + failures.all.count * rounds >= 2 * rounds })
        #expect(failures.all == [])
        #expect(counts.all.reduce(0, +) == 4 * rounds)
        try db.with { c throws in
            #expect(try c.sql("SELECT count(*) FROM management_changes").scalar(Int.self) == 4 * rounds)
            #expect(try c.sql("SELECT count(*) FROM jobs WHERE kind = 'management.process'").scalar(Int.self) == 4 * rounds)
        }
    }
}
