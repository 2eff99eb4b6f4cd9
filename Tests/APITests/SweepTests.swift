import Foundation
import JobQueue
import Postgres
import TestSupport
import Testing

/// Sweeps run as operators run them: `dualhook sweep NAME`, then a worker.
@Suite(.serialized) struct SweepTests {
    @Test func expiredSessionsFailWithAnEventAndOldAPIStateIsPruned() throws {
        let f = try APIFixture()
        defer { f.close() }
        let ids = try (0..<4).map { _ in
            try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, json: sessionBody()).json["sessionId"] as! String
        }
        try f.db.with { connection throws in
            try connection.sql("UPDATE onboarding_sessions SET expires_at = now() - interval '1 second' WHERE id = \(ids[0])")
            // An exchange lost long ago, and one that may still be running.
            try connection.sql("UPDATE onboarding_sessions SET status = 'exchanging', exchanging_since = now() - interval '20 minutes', waba_id = '100000000000720' WHERE id = \(ids[2])")
            try connection.sql("UPDATE onboarding_sessions SET status = 'exchanging', exchanging_since = now() - interval '5 minutes' WHERE id = \(ids[3])")
            try connection.sql("""
                INSERT INTO rate_limit_windows (key_id, budget, window_start, count) VALUES ('key_old', 'api', now() - interval '3 hours', 5)
                """)
            try connection.sql("""
                INSERT INTO idempotency_keys (account_id, key, request_hash, state, created_at)
                VALUES (\(f.account.accountId), 'old', '\\x00', 'done', now() - interval '2 hours')
                """)
        }
        // An event whose delivery job was ended without a word, long ago.
        #expect(try f.server.send("PATCH", "/api/v1/account", key: f.account.apiKey,
                                  json: #"{"eventUrl":"https://events.example.com/dualhook"}"#).status == 200)
        try f.db.with { connection throws in
            try connection.sql("""
                INSERT INTO events (id, account_id, type, data, created_at)
                VALUES ('evt_lost', \(f.account.accountId), 'onboarding.started', '{}', now() - interval '1 hour')
                """)
            // Ended through the engine's own operator API, as an operator might have done.
            let job = try connection.sql("SELECT id FROM jobs WHERE unique_key LIKE 'deliver:evt_lost:%'").scalar(Int64.self)
            _ = try JobAdmin.cancel(id: try #require(job), on: connection)
        }
        for sweep in ["expire-sessions", "prune-api", "settle-events"] {
            #expect(try DualhookProcess.run(["sweep", sweep], databaseURL: f.db.url).status == 0)
        }
        let worker = try DualhookProcess(["work", "--queues", "maintenance:2"], databaseURL: f.db.url)
        defer { worker.stop() }
        #expect(eventually(timeout: 20) {
            (try? f.db.with { try $0.sql("SELECT count(*) FROM jobs WHERE kind LIKE 'sweep.%' AND state = 'completed'").scalar(Int.self) }) == 3
        })
        let expired = try f.server.send("GET", "/api/v1/onboarding/sessions/\(ids[0])", key: f.account.apiKey)
        #expect(expired.json["status"] as? String == "expired")
        #expect(expired.json["failureReason"] as? String == "expired")
        let live = try f.server.send("GET", "/api/v1/onboarding/sessions/\(ids[1])", key: f.account.apiKey)
        #expect(live.json["status"] as? String == "created")
        let lost = try f.server.send("GET", "/api/v1/onboarding/sessions/\(ids[2])", key: f.account.apiKey)
        #expect(lost.json["status"] as? String == "failed" && lost.json["failureReason"] as? String == "meta_error")
        let running = try f.server.send("GET", "/api/v1/onboarding/sessions/\(ids[3])", key: f.account.apiKey)
        #expect(running.json["status"] as? String == "exchanging")
        try f.db.with { connection throws in
            #expect(try connection.sql("SELECT delivery_status FROM events WHERE id = 'evt_lost'").scalar(String.self) == "failed")
            try connection.sql("DELETE FROM events WHERE id = 'evt_lost'")
            #expect(try connection.sql("SELECT data->>'reason' FROM events WHERE data->>'sessionId' = \(ids[2])").scalar(String.self) == "meta_error")
            #expect(try connection.sql("SELECT data->>'wabaId' FROM events WHERE data->>'sessionId' = \(ids[2])").scalar(String.self) == "100000000000720",
                    "the WABA it had claimed is named")
            let event = try connection.sql("""
                SELECT type, data->>'sessionId', data->>'reason', data->'metadata'->>'plan' FROM events WHERE data->>'sessionId' <> \(ids[2])
                """)
            #expect(event.rowCount == 1)
            #expect(try event[0].decode(String.self, at: 0) == "onboarding.failed")
            #expect(try event[0].decode(String.self, at: 1) == ids[0])
            #expect(try event[0].decode(String.self, at: 2) == "expired")
            #expect(try event[0].decode(String.self, at: 3) == "pro")
            #expect(try connection.sql("SELECT count(*) FROM rate_limit_windows WHERE key_id = 'key_old'").scalar(Int.self) == 0)
            #expect(try connection.sql("SELECT count(*) FROM idempotency_keys WHERE key = 'old'").scalar(Int.self) == 0)
            #expect(try connection.sql("SELECT count(*) FROM rate_limit_windows").scalar(Int.self)! > 0, "current windows stay")
        }
    }
}
