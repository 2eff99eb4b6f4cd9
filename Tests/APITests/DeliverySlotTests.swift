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
                try c.sql("SELECT coalesce(string_agg(n || ':' || job_id, ',' ORDER BY n), '') FROM event_slots WHERE job_id IS NOT NULL")
                    .scalar(String.self) ?? ""
            }
            func free(_ jobs: Int64...) throws {
                try c.sql("UPDATE event_slots SET job_id = NULL, endpoint_id = NULL, held_until = NULL WHERE job_id = ANY(\(jobs)::bigint[])")
            }
            #expect(try take(1, "ep_a") == "ok")
            #expect(try take(2, "ep_a") == "ok")
            #expect(try take(3, "ep_a") == "slots")
            #expect(try c.sql("SELECT count(*) FROM event_slots").scalar(Int.self) == 2)
            // A job claimed again while its slot's lease runs takes that slot again, even with
            // a lower one free, and never holds two.
            try free(1)
            #expect(try take(2, "ep_a") == "ok")
            #expect(try held() == "2:2")
            // A lease that ended frees its slot.
            #expect(try take(1, "ep_a") == "ok")
            try c.execute("UPDATE event_slots SET held_until = now() - interval '1 second' WHERE job_id = 2")
            #expect(try take(3, "ep_a") == "ok")
            #expect(try held() == "1:1,2:3")
            // A higher limit adds rows; a second enabled endpoint holding none keeps one free.
            try c.execute("INSERT INTO event_endpoints (id, account_id, url) VALUES ('ep_b', 'acc_slots', 'https://b.example/hook')")
            #expect(try take(4, "ep_a", limit: 4) == "ok")
            #expect(try c.sql("SELECT count(*) FROM event_slots").scalar(Int.self) == 4)
            #expect(try take(6, "ep_a", limit: 4) == "slots")
            #expect(try take(5, "ep_b", limit: 4) == "ok")
            #expect(try take(7, "ep_b", limit: 4) == "slots")
            #expect(try held() == "1:1,2:3,3:4,4:5")
            // A job that gets none gives back the one it still held.
            #expect(try take(5, "ep_b", limit: 3) == "slots")
            #expect(try held() == "1:1,2:3,3:4")
            // Under a lowered limit the slots above it still count while they are held.
            try free(1, 3)
            #expect(try take(8, "ep_a", limit: 1) == "slots")
            try free(4)
            #expect(try take(8, "ep_a", limit: 1) == "ok")
            #expect(try take(9, "ep_a", limit: 1) == "slots")
            #expect(try held() == "1:8")
            // A disabled endpoint keeps nothing.
            try free(8)
            try c.execute("UPDATE event_endpoints SET status = 'disabled' WHERE id = 'ep_b'")
            #expect(try take(10, "ep_a", limit: 2) == "ok")
            #expect(try take(11, "ep_a", limit: 2) == "ok")
            #expect(try held() == "1:10,2:11")
        }
    }

    /// More enabled endpoints than slots: each endpoint holding none takes a free slot, and
    /// one that holds a slot leaves the rest to its siblings. The slots kept for siblings were
    /// once counted against a taker holding none too, so with 10 endpoints and 8 slots one
    /// delivery of the account ran at a time, held up by any slow endpoint.
    @Test func withMoreEndpointsThanSlotsEachEndpointGetsOneAndNoneTakesTwoWhileOthersWait() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        try db.with { c throws in
            try c.execute("INSERT INTO accounts (id, name, display_name) VALUES ('acc_many', 'Many', 'Many')")
            for i in 1...10 {
                try c.sql("INSERT INTO event_endpoints (id, account_id, url) VALUES (\("ep_\(i)"), 'acc_many', \("https://\(i).example/hook"))")
            }
            func take(_ job: Int64, _ endpoint: Int) throws -> String {
                try c.sql("SELECT event_slot_take(\(job), 'acc_many', \("ep_\(endpoint)"), 8, 30::float8, NULL)").scalar(String.self) ?? ""
            }
            #expect(try take(1, 1) == "ok", "the slow endpoint's first delivery")
            #expect(try take(2, 1) == "slots", "not a second while 9 siblings hold none")
            for i in 2...8 { #expect(try take(Int64(i + 10), i) == "ok", "endpoint \(i) gets a slot alongside") }
            #expect(try take(30, 9) == "slots", "all 8 are in use")
            try c.sql("UPDATE event_slots SET job_id = NULL, endpoint_id = NULL, held_until = NULL WHERE job_id = 12")
            #expect(try take(30, 9) == "ok", "a freed slot goes to an endpoint waiting for one")
        }
    }
}
