import Foundation
import Postgres
import TestSupport
import Testing
@testable import Dualhook

/// Attempts of several delivery jobs written in one statement (`DeliveryStore.recordAll`), as
/// the worker's batches write them.
@Suite struct DeliveryBatchTests {
    func attempt(_ event: String, at: Double, error: String?, job: Int64, status: DeliveryStore.Status,
                 next: Double? = nil, endpoint: String = "ep_batch", write: Bool = true) -> DeliveryStore.Recorded {
        DeliveryStore.Recorded(eventId: event, accountId: "acc_batch", endpointId: endpoint, attemptedAt: at, url: "https://receiver.example/hook",
                               statusCode: error == nil ? 200 : 500, durationMs: 12.5, error: error, responseBody: error == nil ? "ok" : nil,
                               status: status.rawValue, nextAttemptAt: next, slotHolder: job, keepSlot: false, writeEndpoint: write)
    }

    /// A healthy endpoint's failure (news: written) and a later success in the same batch (no
    /// news on its own: not written) end healthy, and a failing one's success then failure end
    /// failing: every attempt of an endpoint that is written counts, whether it asked to be.
    @Test func anEndpointWrittenByOneAttemptEndsAsAllItsAttemptsInTheBatchLeaveIt() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        try db.with { c throws in
            try c.execute("INSERT INTO accounts (id, name, display_name) VALUES ('acc_batch', 'Batch', 'Batch')")
            try c.execute("""
                INSERT INTO event_endpoints (id, account_id, url, last_success_at, health_updated_at)
                VALUES ('ep_batch', 'acc_batch', 'https://receiver.example/hook', now(), now())
                """)
            for event in ["evt_c1", "evt_c2", "evt_c3", "evt_c4"] {
                try c.sql("INSERT INTO events (id, account_id, type, data) VALUES (\(event), 'acc_batch', 'onboarding.started', '{}')")
            }
            let now = Date().timeIntervalSince1970
            try DeliveryStore.recordAll([
                attempt("evt_c1", at: now, error: "HTTP 500", job: 921, status: .pending, next: now + 60, write: true),
                attempt("evt_c2", at: now + 0.5, error: nil, job: 922, status: .delivered, write: false),
            ], on: c)
            #expect(try c.sql("SELECT failing_since IS NULL FROM event_endpoints WHERE id = 'ep_batch'").scalar(Bool.self) == true,
                    "its latest attempt succeeded")
            try c.execute("UPDATE event_endpoints SET failing_since = now() - interval '1 hour'")
            try DeliveryStore.recordAll([
                attempt("evt_c3", at: now + 1, error: nil, job: 923, status: .delivered, write: true),
                attempt("evt_c4", at: now + 1.5, error: "HTTP 502", job: 924, status: .pending, next: now + 60, write: false),
            ], on: c)
            let after = try #require(try c.sql("SELECT failing_since IS NOT NULL, last_error FROM event_endpoints WHERE id = 'ep_batch'").first)
            #expect(try after.decode(Bool.self, at: 0) && after.decode(String.self, at: 1) == "HTTP 502", "its latest attempt failed")
        }
    }

    @Test func aBatchEndsEachDeliveryAndTheEndpointAsTheAttemptsWouldOneAfterAnother() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        try db.with { c throws in
            try c.execute("INSERT INTO accounts (id, name, display_name) VALUES ('acc_batch', 'Batch', 'Batch')")
            try c.execute("INSERT INTO event_endpoints (id, account_id, url, warned_days) VALUES ('ep_batch', 'acc_batch', 'https://receiver.example/hook', 3)")
            for event in ["evt_b1", "evt_b2", "evt_b3", "evt_b4"] {
                try c.sql("INSERT INTO events (id, account_id, type, data) VALUES (\(event), 'acc_batch', 'onboarding.started', '{}')")
            }
            try c.execute("""
                INSERT INTO event_slots (account_id, n, job_id, endpoint_id, held_until)
                VALUES ('acc_batch', 1, 901, 'ep_batch', now() + interval '1 minute'), ('acc_batch', 2, 902, 'ep_batch', now() + interval '1 minute'),
                       ('acc_batch', 3, 903, 'ep_batch', now() + interval '1 minute'), ('acc_batch', 4, NULL, NULL, NULL)
                """)
            let now = Date().timeIntervalSince1970
            // A success, then a failure of the same endpoint in the same batch: failing from now,
            // its success and its error both kept, the warnings of an earlier stretch forgotten.
            try DeliveryStore.recordAll([
                attempt("evt_b1", at: now, error: nil, job: 901, status: .delivered),
                attempt("evt_b2", at: now + 0.5, error: "HTTP 500", job: 902, status: .pending, next: now + 60),
            ], on: c)
            let first = try #require(try c.sql("""
                SELECT failing_since IS NOT NULL, last_success_at IS NOT NULL, warned_days, last_error FROM event_endpoints WHERE id = 'ep_batch'
                """).first)
            #expect(try first.decode(Bool.self, at: 0) && first.decode(Bool.self, at: 1))
            #expect(try first.decode(Int.self, at: 2) == 0 && first.decode(String.self, at: 3) == "HTTP 500")
            let deliveries = try c.sql("SELECT event_id, status, attempts, next_attempt_at IS NOT NULL FROM event_deliveries ORDER BY event_id").rows
            #expect(try deliveries.map { "\(try $0.decode(String.self, at: 0)) \(try $0.decode(String.self, at: 1)) \(try $0.decode(Int.self, at: 2)) \(try $0.decode(Bool.self, at: 3))" }
                    == ["evt_b1 delivered 1 false", "evt_b2 pending 1 true", "evt_b3 pending 0 false", "evt_b4 pending 0 false"])
            #expect(try c.sql("SELECT delivery_status FROM events WHERE id = 'evt_b1'").scalar(String.self) == "delivered")
            #expect(try c.sql("SELECT count(*) FROM event_attempts WHERE endpoint_id = 'ep_batch'").scalar(Int.self) == 2)
            // Microseconds survive the trip through the batch's JSON.
            #expect(try c.sql("SELECT abs(extract(epoch FROM attempted_at) - \(now)::float8) < 0.000002 FROM event_attempts WHERE event_id = 'evt_b1'")
                        .scalar(Bool.self) == true)
            #expect(try c.sql("SELECT array_agg(job_id ORDER BY job_id)::text FROM event_slots WHERE job_id IS NOT NULL").scalar(String.self) == "{903}")

            // Failing for days, then a failure and a later success in one batch: healthy, with
            // the failure's error kept as the last one.
            try c.execute("UPDATE event_endpoints SET failing_since = now() - interval '4 days', warned_days = 3, last_success_at = NULL")
            try DeliveryStore.recordAll([
                attempt("evt_b4", at: now + 2, error: nil, job: 904, status: .delivered),
                attempt("evt_b3", at: now + 1, error: "HTTP 503", job: 903, status: .pending, next: now + 60),
            ], on: c)
            let second = try #require(try c.sql("""
                SELECT failing_since IS NULL, last_success_at IS NOT NULL, warned_days, last_error FROM event_endpoints WHERE id = 'ep_batch'
                """).first)
            #expect(try second.decode(Bool.self, at: 0) && second.decode(Bool.self, at: 1))
            #expect(try second.decode(Int.self, at: 2) == 0 && second.decode(String.self, at: 3) == "HTTP 503")
            #expect(try c.sql("SELECT count(*) FROM event_slots WHERE job_id IS NOT NULL OR held_until IS NOT NULL").scalar(Int.self) == 0)
            // An attempt never undoes a delivery made after it began.
            try DeliveryStore.recordAll([attempt("evt_b4", at: now - 10, error: "timed out", job: 905, status: .pending, next: now + 60)], on: c)
            #expect(try c.sql("SELECT status FROM event_deliveries WHERE event_id = 'evt_b4'").scalar(String.self) == "delivered")
        }
    }

    /// The loads of several delivery jobs read in one statement (`DeliveryStore.loadAll`): each
    /// answered in its place (a missing event as nil, a job without an endpoint through its
    /// account's default one, a disabled endpoint with no slot, a redelivery whose job is still
    /// live as busy), and the slots of one account taken in the jobs' order.
    @Test func loadsOfSeveralJobsAreAnsweredInTheirOrder() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        try db.with { c throws in
            try c.execute("INSERT INTO accounts (id, name, display_name) VALUES ('acc_l1', 'One', 'One'), ('acc_l2', 'Two', 'Two'), ('acc_l3', 'Three', 'Three')")
            try c.execute("""
                INSERT INTO event_endpoints (id, account_id, url, is_default) VALUES
                    ('ep_l1', 'acc_l1', 'https://one.example/hook', true), ('ep_l2', 'acc_l2', 'https://two.example/hook', false),
                    ('ep_l3', 'acc_l3', 'https://three.example/hook', false)
                """)
            for (event, account) in [("evt_l1", "acc_l2"), ("evt_l2", "acc_l1"), ("evt_l3", "acc_l2"), ("evt_l4", "acc_l3"), ("evt_l5", "acc_l1")] {
                try c.sql("INSERT INTO events (id, account_id, type, data) VALUES (\(event), \(account), 'onboarding.started', '{\"n\":1}')")
            }
            try c.execute("UPDATE event_endpoints SET status = 'disabled' WHERE id = 'ep_l3'")
            func request(_ event: String, _ endpoint: String?, job: Int64, again: Bool = false) -> DeliveryStore.LoadRequest {
                .init(eventID: event, endpointID: endpoint, job: job, holder: nil, renew: false, slotsPerAccount: 1, lease: 60, sendAnyway: again)
            }
            let loaded = try c.transaction { tx in
                try DeliveryStore.loadAll([
                    request("evt_l1", "ep_l2", job: 11), request("evt_gone", "ep_l2", job: 12), request("evt_l2", nil, job: 13),
                    request("evt_l3", "ep_l2", job: 14), request("evt_l4", "ep_l3", job: 15),
                    // Its delivery job, queued with the event, has not run: a redelivery waits for it.
                    request("evt_l5", "ep_l1", job: 16, again: true),
                ], on: tx)
            }
            #expect(loaded.map { $0?.slot } == [.ok, nil, .ok, .slots, DeliveryStore.Slot.none, .busy])
            #expect(loaded.map { $0?.accountID } == ["acc_l2", nil, "acc_l1", "acc_l2", "acc_l3", "acc_l1"])
            #expect(loaded[2]?.endpointID == "ep_l1" && loaded[2]?.isDefault == true && loaded[2]?.data == #"{"n": 1}"#)
            #expect(loaded[4]?.endpointEnabled == false)
            #expect(try c.sql("SELECT array_agg(job_id ORDER BY job_id)::text FROM event_slots WHERE job_id IS NOT NULL")
                        .scalar(String.self) == "{11,13}")
        }
    }

    /// A slot a worker kept for an endpoint (`HeldSlots`) is held under its first job's id
    /// negated, so that job run again does not find it its own; it is reused without a take
    /// while the endpoint is its account's only enabled one; with a sibling, the take runs under
    /// the slot's holder and gives the slot up when the sibling needs it kept.
    @Test func aKeptSlotIsReusedWithoutATakeOnlyWhileItsEndpointIsAlone() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        try db.with { c throws in
            try c.execute("INSERT INTO accounts (id, name, display_name) VALUES ('acc_k', 'Kept', 'Kept')")
            try c.execute("INSERT INTO event_endpoints (id, account_id, url) VALUES ('ep_k1', 'acc_k', 'https://one.example/hook')")
            for event in ["evt_k1", "evt_k2", "evt_k3", "evt_k4"] {
                try c.sql("INSERT INTO events (id, account_id, type, data) VALUES (\(event), 'acc_k', 'onboarding.started', '{}')")
            }
            func load(_ event: String, job: Int64, holder: Int64? = nil, renew: Bool = false) throws -> DeliveryStore.Slot? {
                try c.transaction { tx in
                    try DeliveryStore.loadAll([.init(eventID: event, endpointID: "ep_k1", job: job, holder: holder, renew: renew, slotsPerAccount: 2,
                                                     lease: 60, sendAnyway: false)], on: tx)
                }.first??.slot
            }
            func held() throws -> String {
                try c.sql("SELECT coalesce(string_agg(job_id::text, ',' ORDER BY job_id), '') FROM event_slots WHERE job_id IS NOT NULL")
                    .scalar(String.self) ?? ""
            }
            func free(_ holder: Int64) throws {
                try c.sql("UPDATE event_slots SET job_id = NULL, endpoint_id = NULL, held_until = NULL WHERE job_id = \(holder)")
            }
            #expect(try load("evt_k1", job: 21) == .ok)
            // Delivered, the slot kept: from then on held under -21.
            try c.transaction { tx in
                try DeliveryStore.recordAll([DeliveryStore.Recorded(
                    eventId: "evt_k1", accountId: "acc_k", endpointId: "ep_k1", attemptedAt: Date().timeIntervalSince1970,
                    url: "https://one.example/hook", statusCode: 200, durationMs: 3, error: nil, responseBody: "ok", status: "delivered",
                    nextAttemptAt: nil, slotHolder: 21, keepSlot: true, writeEndpoint: false)], on: tx)
            }
            #expect(try held() == "-21")
            // Job 21 run again (a retry brought forward) takes a slot of its own, not the kept one.
            #expect(try load("evt_k2", job: 21) == .ok)
            #expect(try held() == "-21,21")
            try free(21)
            try c.execute("UPDATE event_slots SET held_until = now() + interval '5 seconds' WHERE job_id = -21")
            let lease = try c.sql("SELECT held_until::text FROM event_slots WHERE job_id = -21").scalar(String.self)
            // Reused as it is: no second slot, the lease untouched.
            #expect(try load("evt_k2", job: 22, holder: -21) == .ok)
            #expect(try held() == "-21")
            #expect(try c.sql("SELECT held_until::text FROM event_slots WHERE job_id = -21").scalar(String.self) == lease)
            // One whose lease the worker counts too short goes through the take, which renews it.
            #expect(try load("evt_k2", job: 25, holder: -21, renew: true) == .ok)
            #expect(try held() == "-21")
            #expect(try c.sql("SELECT held_until > now() + interval '30 seconds' FROM event_slots WHERE job_id = -21").scalar(Bool.self) == true)
            // A holder whose row is gone (its lease ended and it was given back) is not taken on
            // trust: the take runs and finds a slot of its own for the holder.
            #expect(try load("evt_k2", job: 24, holder: -99) == .ok)
            #expect(try held() == "-99,-21")
            try free(-99)
            // A second slot for the endpoint, then a sibling holding none: the take under the
            // holder finds one slot busy and one to keep for the sibling, and gives its slot up.
            #expect(try load("evt_k3", job: 30) == .ok)
            try c.execute("INSERT INTO event_endpoints (id, account_id, url) VALUES ('ep_k2', 'acc_k', 'https://two.example/hook')")
            #expect(try load("evt_k4", job: 23, holder: -21) == .slots)
            #expect(try held() == "30")
            #expect(try load("evt_k4", job: 31) == .slots)
            // With room left, the take keeps the slot under its holder and renews its lease.
            try free(30)
            #expect(try load("evt_k3", job: 32) == .ok)
            try c.execute("UPDATE event_slots SET job_id = -32, held_until = now() + interval '5 seconds' WHERE job_id = 32")
            #expect(try load("evt_k2", job: 33, holder: -32) == .ok)
            #expect(try held() == "-32")
            #expect(try c.sql("SELECT held_until > now() + interval '30 seconds' FROM event_slots WHERE job_id = -32").scalar(Bool.self) == true)
        }
    }

    /// Two endpoints' deliveries of one event written by one statement: the event's summary,
    /// written once for both, counts both.
    @Test func oneStatementOverTwoDeliveriesOfAnEventCountsBoth() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        try db.with { c throws in
            try c.execute("INSERT INTO accounts (id, name, display_name) VALUES ('acc_batch', 'Batch', 'Batch')")
            try c.execute("""
                INSERT INTO event_endpoints (id, account_id, url) VALUES ('ep_a', 'acc_batch', 'https://a.example/hook'),
                                                                        ('ep_b', 'acc_batch', 'https://b.example/hook')
                """)
            for event in ["evt_two", "evt_fail"] {
                try c.sql("INSERT INTO events (id, account_id, type, data) VALUES (\(event), 'acc_batch', 'onboarding.started', '{}')")
            }
            func summary(_ event: String) throws -> String {
                let row = try #require(try c.sql("""
                    SELECT delivery_status, attempts, deliveries, deliveries_open, deliveries_failed,
                           round(extract(epoch FROM next_attempt_at))::bigint, delivered_at IS NOT NULL
                    FROM events WHERE id = \(event)
                    """).first)
                return try "\(row.decode(String.self, at: 0)) attempts \(row.decode(Int.self, at: 1)) of \(row.decode(Int.self, at: 2)): "
                    + "open \(row.decode(Int.self, at: 3)) failed \(row.decode(Int.self, at: 4)) "
                    + "next \(row.decode(Int64?.self, at: 5).map(String.init) ?? "-") delivered \(row.decode(Bool.self, at: 6))"
            }
            #expect(try summary("evt_two") == "pending attempts 0 of 2: open 2 failed 0 next - delivered false")
            let now = Date().timeIntervalSince1970.rounded()
            try DeliveryStore.recordAll([
                attempt("evt_two", at: now, error: nil, job: 911, status: .delivered, endpoint: "ep_a"),
                attempt("evt_two", at: now, error: "HTTP 500", job: 912, status: .pending, next: now + 60, endpoint: "ep_b"),
                attempt("evt_fail", at: now, error: "HTTP 500", job: 913, status: .failed, endpoint: "ep_a"),
                attempt("evt_fail", at: now, error: "HTTP 500", job: 914, status: .pending, next: now + 300, endpoint: "ep_b"),
            ], on: c)
            #expect(try summary("evt_two") == "pending attempts 2 of 2: open 1 failed 0 next \(Int64(now) + 60) delivered false")
            #expect(try summary("evt_fail") == "failed attempts 2 of 2: open 1 failed 1 next \(Int64(now) + 300) delivered false")
            // The event's next attempt is the earliest of its pending deliveries', whichever
            // statement wrote them: a later retry of one does not hide the other's earlier one,
            // and one delivered leaves the other's.
            try c.execute("INSERT INTO events (id, account_id, type, data) VALUES ('evt_next', 'acc_batch', 'onboarding.started', '{}')")
            try DeliveryStore.recordAll([attempt("evt_next", at: now, error: "HTTP 500", job: 916, status: .pending, next: now + 60, endpoint: "ep_a")], on: c)
            try DeliveryStore.recordAll([attempt("evt_next", at: now, error: "HTTP 500", job: 917, status: .pending, next: now + 900, endpoint: "ep_b")], on: c)
            #expect(try summary("evt_next") == "pending attempts 2 of 2: open 2 failed 0 next \(Int64(now) + 60) delivered false")
            try DeliveryStore.recordAll([attempt("evt_next", at: now + 1, error: nil, job: 918, status: .delivered, endpoint: "ep_a")], on: c)
            #expect(try summary("evt_next") == "pending attempts 3 of 2: open 1 failed 0 next \(Int64(now) + 900) delivered false")
            // A delivery deleted (its endpoint removed) leaves the other's time; its attempt
            // stays counted, as it stays listed.
            try c.execute("INSERT INTO events (id, account_id, type, data) VALUES ('evt_del', 'acc_batch', 'onboarding.started', '{}')")
            try DeliveryStore.recordAll([attempt("evt_del", at: now, error: "HTTP 500", job: 919, status: .pending, next: now + 60, endpoint: "ep_a")], on: c)
            try DeliveryStore.recordAll([attempt("evt_del", at: now, error: "HTTP 500", job: 920, status: .pending, next: now + 900, endpoint: "ep_b")], on: c)
            try c.execute("DELETE FROM event_deliveries WHERE event_id = 'evt_del' AND endpoint_id = 'ep_a'")
            #expect(try summary("evt_del") == "pending attempts 2 of 1: open 1 failed 0 next \(Int64(now) + 900) delivered false")
            try DeliveryStore.recordAll([attempt("evt_two", at: now + 1, error: nil, job: 915, status: .delivered, endpoint: "ep_b")], on: c)
            #expect(try summary("evt_two") == "delivered attempts 3 of 2: open 0 failed 0 next - delivered true")
        }
    }
}
