import Foundation
import Postgres
import TestSupport
import Testing

/// `event_slot_take` (sql/024_delivery_slot_rows.sql): an account's fixed slot rows, taken and
/// given back in place.
@Suite struct DeliverySlotTests {
    @Test func anAccountsSlotsAreMadeOnceTakenAgainByTheirJobAndKeptForItsOtherEndpoints() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        try db.with { c throws in
            try c.execute("INSERT INTO accounts (id, name, display_name) VALUES ('acc_slots', 'Slots', 'Slots')")
            try c.execute("INSERT INTO event_endpoints (id, account_id, url) VALUES ('ep_a', 'acc_slots', 'https://a.example/hook')")
            func take(_ job: Int64, _ endpoint: String, limit: Int = 2) throws -> String {
                try c.sql("SELECT event_slot_take(\(job), 'acc_slots', \(endpoint), \(limit), 30::float8, NULL)").scalar(String.self) ?? ""
            }
            func held() throws -> String {
                try c.query("SELECT coalesce(string_agg(n || ':' || job_id, ',' ORDER BY n), '') FROM event_slots WHERE job_id IS NOT NULL")
                    .scalar(String.self) ?? ""
            }
            #expect(try take(1, "ep_a") == "ok")
            #expect(try take(2, "ep_a") == "ok")
            #expect(try take(3, "ep_a") == "slots")
            #expect(try c.query("SELECT count(*) FROM event_slots").scalar(Int.self) == 2)
            // A job whose worker died takes its own slot again, not a second one.
            #expect(try take(1, "ep_a") == "ok")
            #expect(try held() == "1:1,2:2")
            // A lease that ended frees its slot.
            try c.execute("UPDATE event_slots SET held_until = now() - interval '1 second' WHERE job_id = 2")
            #expect(try take(3, "ep_a") == "ok")
            #expect(try held() == "1:1,2:3")
            // A higher limit adds rows; a second enabled endpoint holding none keeps one free.
            try c.execute("INSERT INTO event_endpoints (id, account_id, url) VALUES ('ep_b', 'acc_slots', 'https://b.example/hook')")
            #expect(try take(4, "ep_a", limit: 4) == "ok")
            #expect(try c.query("SELECT count(*) FROM event_slots").scalar(Int.self) == 4)
            #expect(try take(6, "ep_a", limit: 4) == "slots")
            #expect(try take(5, "ep_b", limit: 4) == "ok")
            #expect(try take(7, "ep_b", limit: 4) == "slots")
            #expect(try held() == "1:1,2:3,3:4,4:5")
            // A disabled endpoint keeps nothing.
            try c.execute("UPDATE event_slots SET job_id = NULL, endpoint_id = NULL, held_until = NULL WHERE job_id IN (4, 5)")
            try c.execute("UPDATE event_endpoints SET status = 'disabled' WHERE id = 'ep_b'")
            #expect(try take(8, "ep_a", limit: 4) == "ok")
            #expect(try take(9, "ep_a", limit: 4) == "ok")
            #expect(try held() == "1:1,2:3,3:8,4:9")
        }
    }
}
