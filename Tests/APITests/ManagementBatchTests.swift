import Foundation
import Postgres
import TestSupport
import Testing
@testable import Dualhook

/// Meta's callbacks arriving together, written in one transaction (`ManagementChange.recordAll`,
/// as `ManagementChange.recorder` runs it).
@Suite struct ManagementBatchTests {
    func change(_ n: Int, time: Int? = 1_760_000_000) -> ManagementChange.Incoming {
        let value = Data(#"{"alert_type":"X","n":\#(n)}"#.utf8)
        return ManagementChange.Incoming(entryID: "333", time: time, field: "account_alerts", rawValue: value, canonical: value)
    }

    func recorded(_ c: Connection) throws -> [String] {
        // The jobs' order is the order their changes are processed in.
        try c.query("""
            SELECT (m.value->>'n') || ' ' || COALESCE(m.entry_time::text, '-') FROM jobs j
            JOIN management_changes m ON m.id = j.args->>'changeId'
            WHERE j.kind = 'management.process' ORDER BY j.id
            """).rows.map { try $0.decode(String.self, at: 0) }
    }

    @Test func eachDeliveryOfABatchIsAnsweredItsOwnNewChanges() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        try db.with { c throws in
            let batch = [
                ManagementChange.Delivery(changes: [change(3), change(1, time: nil)]),
                // The same change as the first delivery's first: written once, for the first.
                ManagementChange.Delivery(changes: [change(3), change(2)]),
                ManagementChange.Delivery(anomalies: [("444", "messages"), (nil, "calls")]),
            ]
            let counts = try c.transaction { try ManagementChange.recordAll(batch, on: $0) }
            #expect(counts == [2, 1, 0])
            #expect(try recorded(c) == ["3 1760000000", "1 -", "2 1760000000"])
            #expect(try c.query("SELECT COALESCE(waba_id, '-') || ' ' || field FROM routing_anomalies ORDER BY id").rows
                        .map { try $0.decode(String.self, at: 0) } == ["444 messages", "- calls"])

            // A later batch: what is already recorded (within 10 minutes) is a duplicate.
            let again = try c.transaction {
                try ManagementChange.recordAll([ManagementChange.Delivery(changes: [change(2), change(4)]), ManagementChange.Delivery(changes: [change(1, time: nil)])],
                                               on: $0)
            }
            #expect(again == [1, 0])
            #expect(try recorded(c) == ["3 1760000000", "1 -", "2 1760000000", "4 1760000000"])
            #expect(try c.query("SELECT count(DISTINCT dedupe_key) = count(*) FROM management_changes").scalar(Bool.self) == true)
        }
    }

    @Test func anEmptyBatchWritesNothing() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        try db.with { c throws in
            let counts = try c.transaction { try ManagementChange.recordAll([ManagementChange.Delivery()], on: $0) }
            #expect(counts == [0])
            #expect(try c.query("SELECT count(*) FROM management_changes").scalar(Int.self) == 0)
        }
    }
}
