import Crypto
import Foundation
import JobQueue
import Postgres
import Synchronization
import TestSupport
import Testing

/// Meta's app-level callback, health and the Coexistence heartbeat, with the fake Meta, the
/// real worker and a real receiver standing in for the tenant's endpoint.
@Suite(.serialized) struct ManagementTests {
    /// An onboarding whose tenant endpoint is `receiver`.
    func onboard(_ f: OnboardingFixture, receiver: EventReceiver, tenant: String = "cust_a", waba: String? = nil,
                 mode: String = "cloud_api") throws -> (connection: String, waba: String, phone: String) {
        try f.onboard(to: receiver.url, tenant: tenant, waba: waba, mode: mode)
    }

    /// POSTs a body to the callback, signed as Meta signs (or with the signature given).
    func deliver(_ f: OnboardingFixture, _ body: Data, signature: String? = nil) throws -> HTTPResult {
        let signed = "sha256=" + Digest.hmacSHA256(key: Data("dev-app-secret".utf8), message: body).hexString
        return try f.server.send("POST", "/meta/webhook", headers: ["X-Hub-Signature-256": signature ?? signed, "Content-Type": "application/json"],
                                 body: body)
    }

    func envelope(waba: String, field: String, value: String) -> Data {
        Data(#"{"object":"whatsapp_business_account","entry":[{"id":"\#(waba)","time":1760000000,"changes":[{"field":"\#(field)","value":\#(value)}]}]}"#.utf8)
    }

    func count(_ f: OnboardingFixture, _ sql: PostgresQuery) throws -> Int {
        try f.db.with { try $0.sql(sql).scalar(Int.self) ?? -1 }
    }

    @Test func onlySignedCallbacksAreStoredAndVerificationNeedsTheToken() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let challenge = try f.server.send("GET", "/meta/webhook?hub.mode=subscribe&hub.verify_token=dev-verify-token&hub.challenge=12345")
        #expect(challenge.status == 200 && challenge.text == "12345")
        let wrong = try f.server.send("GET", "/meta/webhook?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=12345")
        #expect(wrong.status == 403 && !wrong.text.contains("12345"))

        let body = envelope(waba: "111", field: "account_alerts", value: #"{"alert_type":"X"}"#)
        var tampered = body
        tampered[10] ^= 1
        let good = "sha256=" + Digest.hmacSHA256(key: Data("dev-app-secret".utf8), message: body).hexString
        #expect(try deliver(f, tampered, signature: good).status == 401, "one byte off")
        #expect(try deliver(f, body, signature: "sha256=" + String(repeating: "0", count: 64)).status == 401)
        let missing = try f.server.send("POST", "/meta/webhook", headers: ["Content-Type": "application/json"], body: body)
        #expect(missing.status == 401 && missing.errorCode == "unauthorized")
        #expect(try count(f, "SELECT (SELECT count(*) FROM management_changes) + (SELECT count(*) FROM routing_anomalies) + (SELECT count(*) FROM jobs WHERE kind = 'management.process')") == 0,
                "nothing stored")
        #expect(try deliver(f, body).status == 200)
        #expect(try count(f, "SELECT count(*) FROM management_changes WHERE field = 'account_alerts'") == 1)
        #expect(try deliver(f, Data("not json".utf8)).status == 400)
    }

    @Test func aBurstWithDuplicatesIsForwardedExactlyOnceEach() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let tenant = try EventReceiver(threads: 8)
        defer { tenant.stop() }
        let live = try onboard(f, receiver: tenant)
        let unique = 4000
        var bodies = (0..<unique).map { i in
            envelope(waba: live.waba, field: "message_template_status_update",
                     value: #"{"message_template_id":"\#(900_000 + i)","message_template_name":"t\#(i)","message_template_language":"en_US","event":"APPROVED"}"#)
        }
        bodies += (0..<950).map { _ in bodies[Int.random(in: 0..<unique)] }  // 20% of the 5,000 are duplicates,
        bodies += (0..<50).map { _ in                                         // some written another way
            let i = Int.random(in: 0..<unique)
            return envelope(waba: live.waba, field: "message_template_status_update",
                            value: #"{ "event" : "APPROVED", "message_template_language": "en_US", "message_template_name": "t\#(i)", "message_template_id": "\#(900_000 + i)" }"#)
        }
        bodies.shuffle()
        let burst = bodies
        let statuses = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { lane in
            for index in stride(from: lane, to: burst.count, by: 8) {
                let status = (try? deliver(f, burst[index]).status) ?? -1
                statuses.withLock { $0.append(status) }
            }
        }
        #expect(statuses.withLock { $0.count == 5000 && $0.allSatisfy { $0 == 200 } }, "every delivery answered 200")
        let field = "message_template_status_update"
        #expect(eventually(timeout: 90) { tenant.forwards(field).count >= unique })
        Thread.sleep(forTimeInterval: 1)  // anything extra would show up now
        let forwards = tenant.forwards(field)
        #expect(forwards.count == unique, "each unique change once: \(forwards.count)")
        let templates = forwards.compactMap { request -> String? in
            let change = ((request.json["entry"] as? [[String: Any]])?.first?["changes"] as? [[String: Any]])?.first
            return (change?["value"] as? [String: Any])?["message_template_id"] as? String
        }
        #expect(Set(templates).count == unique)
        #expect(Set(forwards.compactMap { $0.headers["x-dualhook-trace"] }).count == unique)
        let sample = try #require(forwards.first)
        #expect(sample.headers["x-dualhook-event"] == "message_template_status_update")
        #expect(sample.headers["x-dualhook-waba"] == live.waba && sample.headers["x-dualhook-connection"] == live.connection)
        #expect(try OpenSSL.verifiesDualhook(header: sample.headers["x-dualhook-signature"] ?? "", body: sample.body,
                                             secret: f.api.account.eventSigningSecret))
        #expect(eventually(timeout: 10) {
            (try? count(f, "SELECT count(*) FROM management_changes WHERE forward_status = 'delivered' AND field = \(field)")) == unique
        })
        #expect(try count(f, "SELECT count(*) FROM templates WHERE status = 'APPROVED'") == unique)
    }

    /// A value holding U+0000, which Postgres' `jsonb` refuses: recorded (U+FFFD in the stored
    /// value; an escaped backslash before `u0000` is text, not a NUL), answered 200 rather than
    /// refused at each of Meta's retries, and forwarded with Meta's bytes.
    @Test func aValueHoldingNULIsRecordedAndForwardedAsSent() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let tenant = try EventReceiver()
        defer { tenant.stop() }
        let live = try onboard(f, receiver: tenant)
        let value = #"{"alert_type":"A\u0000B","alert_description":"C\\u0000D","x\u0000":1}"#
        let answer = try deliver(f, envelope(waba: live.waba, field: "account_alerts", value: value))
        #expect(answer.status == 200 && answer.text == #"{"received":1}"#, "\(answer.status) \(answer.text)")
        let stored = try #require(try f.db.with { c in
            try c.sql("""
                SELECT value->>'alert_type', value->>'alert_description', value ? 'x\u{FFFD}', value_raw FROM management_changes
                WHERE field = 'account_alerts'
                """).first
        })
        #expect(try stored.decode(String.self, at: 0) == "A\u{FFFD}B")
        #expect(try stored.decode(String.self, at: 1) == #"C\u0000D"#)
        #expect(try stored.decode(Bool.self, at: 2))
        #expect(try stored.decode(String.self, at: 3) == value)
        #expect(eventually(timeout: 30) { tenant.forwards("account_alerts").count >= 1 })
        let forwarded = try #require(tenant.forwards("account_alerts").first)
        #expect(String(decoding: forwarded.body, as: UTF8.self).contains(value), "Meta's bytes, not the stored form")

        // The dedupe key is the canonical form's: the same change again is a duplicate, and one
        // with U+FFFD where Meta sent U+0000 is another change.
        #expect(try deliver(f, envelope(waba: live.waba, field: "account_alerts", value: value)).text == #"{"received":0}"#)
        let replaced = value.replacingOccurrences(of: #"A\u0000B"#, with: #"A\ufffdB"#)
        #expect(try deliver(f, envelope(waba: live.waba, field: "account_alerts", value: replaced)).text == #"{"received":1}"#)
        // A NUL in the entry's id or the field name is kept as U+FFFD too, not refused.
        let odd = Data(#"{"object":"whatsapp_business_account","entry":[{"id":"9\u00009","time":1760000000,"changes":[{"field":"x\u0000y","value":{}}]}]}"#.utf8)
        #expect(try deliver(f, odd).text == #"{"received":1}"#)
        #expect(try count(f, "SELECT count(*) FROM management_changes WHERE waba_id = '9\u{FFFD}9' AND field = 'x\u{FFFD}y'") == 1)
    }

    /// Several changes in one delivery: recorded in one round trip, a duplicate among them
    /// dropped, and queued in Meta's order (their locks are taken in key order, their inserts
    /// are not).
    @Test func changesOfOneDeliveryAreQueuedInMetasOrder() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let order = [5, 2, 6, 1, 4, 3]
        let changes = (order + [2]).map { #"{"field":"account_alerts","value":{"alert_type":"X","n":\#($0)}}"# }
        let body = Data(#"{"object":"whatsapp_business_account","entry":[{"id":"222","time":1760000000,"changes":[\#(changes.joined(separator: ","))]}]}"#.utf8)
        let answer = try deliver(f, body)
        #expect(answer.status == 200 && answer.text.contains(#""received":6"#), "\(answer.status) \(answer.text)")
        let queued = try f.db.with { c in
            try c.sql("""
                SELECT c.value->>'n' FROM jobs j JOIN management_changes c ON c.id = j.args->>'changeId'
                WHERE j.kind = 'management.process' ORDER BY j.id
                """).rows.map { try $0.decode(String.self, at: 0) }
        }
        #expect(queued == order.map(String.init))
    }

    @Test func messagePathFieldsAreAnomaliesWithoutContent() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let tenant = try EventReceiver()
        defer { tenant.stop() }
        let live = try onboard(f, receiver: tenant)
        let secret = "hello-this-is-private-\(UUID().uuidString)"
        let body = envelope(waba: live.waba, field: "messages",
                            value: #"{"messaging_product":"whatsapp","messages":[{"from":"15550001111","type":"text","text":{"body":"\#(secret)"}}]}"#)
        #expect(try deliver(f, body).status == 200)
        let anomaly = try f.db.with { try $0.sql("SELECT waba_id, field FROM routing_anomalies").first }
        #expect(try anomaly?.decode(String.self, at: 0) == live.waba && anomaly?.decode(String.self, at: 1) == "messages")
        Thread.sleep(forTimeInterval: 1)
        #expect(tenant.forwards("messages").isEmpty, "not forwarded")
        let dump = try f.db.with { try $0.sql("""
            SELECT (SELECT count(*) FROM management_changes WHERE field = 'messages' OR value::text LIKE '%' || \(secret) || '%')
                 + (SELECT count(*) FROM jobs WHERE args::text LIKE '%' || \(secret) || '%')
                 + (SELECT count(*) FROM events WHERE data::text LIKE '%' || \(secret) || '%')
            """).scalar(Int.self) }
        #expect(dump == 0)
        for log in [f.server.process.log, f.worker.log] {
            #expect(!log.contains(secret))
        }
        #expect(f.server.process.log.contains("routing anomaly") && f.server.process.log.contains(live.waba))
    }

    /// A change about the whole WABA reaches each URL among its connections once (the first
    /// on the change, the others on forwards of their own), a URL that fails holding back no
    /// other; a change naming a number reaches that number's URL alone.
    @Test func aWABAWideChangeReachesEveryURLOfItsConnections() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let one = try EventReceiver()
        defer { one.stop() }
        let two = try EventReceiver()
        defer { two.stop() }
        let down = try EventReceiver { _ in .text(500, "down") }
        defer { down.stop() }
        let first = try onboard(f, receiver: one)
        /// A further number of the tenant's WABA, routed on its own.
        func number(_ receiver: EventReceiver) throws -> String {
            let link = try f.link(["webhookOverrideUrl": receiver.url, "webhookScope": "phone_number"], tenant: "cust_a")
            let signup = try f.meta.signup(mode: "cloud_api", wabaID: first.waba)
            try f.complete(link, code: signup["code"]!, waba: signup["wabaId"]!, phone: signup["phoneNumberId"]!)
            let session = try f.finished(link)
            return try #require(session["connectionId"] as? String, "\(session)")
        }
        let second = (connection: try number(two), waba: first.waba)
        _ = try number(one)  // the first's URL again: no second copy
        let failing = (connection: try number(down), waba: first.waba)

        let template = envelope(waba: first.waba, field: "message_template_status_update",
                                value: #"{"message_template_id":"777001","message_template_name":"t","message_template_language":"en_US","event":"APPROVED"}"#)
        #expect(try deliver(f, template).status == 200)
        // Each signup's PARTNER_APP_INSTALLED reached the URLs too (Meta's notice, forwarded): counted apart.
        let templates = "message_template_status_update", qualities = "phone_number_quality_update"
        #expect(eventually(timeout: 20) { one.forwards(templates).count == 1 && two.forwards(templates).count == 1 && down.forwards(templates).count == 1 })
        Thread.sleep(forTimeInterval: 1)  // a copy too many would show up now
        #expect(one.forwards(templates).count == 1 && two.forwards(templates).count == 1 && down.forwards(templates).count == 1)
        let a = try #require(one.forwards(templates).first), b = try #require(two.forwards(templates).first)
        #expect(a.headers["x-dualhook-connection"] == first.connection && b.headers["x-dualhook-connection"] == second.connection)
        #expect(a.body == b.body && a.headers["x-dualhook-trace"] == b.headers["x-dualhook-trace"])
        #expect(try OpenSSL.verifiesMeta(header: b.headers["x-hub-signature-256"] ?? "", body: b.body, secret: f.api.account.eventSigningSecret))
        let change = try #require(a.headers["x-dualhook-trace"])
        #expect(eventually(timeout: 10) {
            (try? count(f, "SELECT count(*) FROM management_changes WHERE id = \(change) AND forward_status = 'delivered' AND connection_id = \(first.connection)")) == 1
                && (try? count(f, "SELECT count(*) FROM management_forwards WHERE change_id = \(change) AND connection_id = \(second.connection) AND status = 'delivered'")) == 1
        })
        let held = try #require(try f.db.with { c in
            try c.sql("SELECT status, attempts, last_error FROM management_forwards WHERE change_id = \(change) AND connection_id = \(failing.connection)").first
        })
        #expect(try held.decode(String.self, at: 0) == "pending" && held.decode(Int.self, at: 1) == 1 && held.decode(String.self, at: 2) == "HTTP 500")
        #expect(try count(f, "SELECT count(*) FROM management_forwards WHERE change_id = \(change)") == 2)
        #expect(try count(f, "SELECT count(*) FROM templates WHERE template_id = '777001' AND status = 'APPROVED'") == 1, "applied once")

        // A change naming one number goes to that number's URL alone.
        let display = try #require(try f.db.with { try $0.sql("SELECT display_phone_number FROM connections WHERE id = \(second.connection)").scalar(String.self) })
        let quality = envelope(waba: first.waba, field: "phone_number_quality_update",
                               value: #"{"display_phone_number":"\#(display)","event":"FLAGGED","current_limit":"TIER_1K"}"#)
        #expect(try deliver(f, quality).status == 200)
        #expect(eventually(timeout: 20) { two.forwards(qualities).count == 1 })
        Thread.sleep(forTimeInterval: 1)
        #expect(one.forwards(qualities).isEmpty && down.forwards(qualities).isEmpty)
    }

    /// The first forward of a WABA-wide change fails and its connection ends before the retry:
    /// the retry goes to the target chosen when the change was applied, never to a sibling that
    /// already has its own forward.
    @Test func aRetriedForwardKeepsTheTargetChosenFirst() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        // The template's first forward fails; anything else (a signup's notice) is taken.
        let templates = "message_template_status_update"
        let failedOnce = Atomic<Bool>(false)
        let flaky = try EventReceiver(answering: { _, request in
            request.headers["x-dualhook-event"] == templates && !failedOnce.exchange(true, ordering: .relaxed) ? .text(500, "down") : .text(200, "ok")
        })
        defer { flaky.stop() }
        let two = try EventReceiver()
        defer { two.stop() }
        let first = try onboard(f, receiver: flaky)
        let link = try f.link(["webhookOverrideUrl": two.url, "webhookScope": "phone_number"], tenant: "cust_a")
        let signup = try f.meta.signup(mode: "cloud_api", wabaID: first.waba)
        try f.complete(link, code: signup["code"]!, waba: signup["wabaId"]!, phone: signup["phoneNumberId"]!)
        #expect(try f.finished(link)["connectionId"] is String)

        let template = envelope(waba: first.waba, field: "message_template_status_update",
                                value: #"{"message_template_id":"777002","message_template_name":"t","message_template_language":"en_US","event":"APPROVED"}"#)
        #expect(try deliver(f, template).status == 200)
        #expect(eventually(timeout: 20) { flaky.forwards(templates).count == 1 && two.forwards(templates).count == 1 })
        let change = try #require(two.forwards(templates).first?.headers["x-dualhook-trace"])
        #expect(eventually(timeout: 10) {
            (try? count(f, "SELECT count(*) FROM management_changes WHERE id = \(change) AND forward_attempts = 1 AND forward_status = 'pending'")) == 1
        })
        // The first target's connection ends; the retry is brought forward.
        #expect(try f.server.send("DELETE", "/api/v1/connections/\(first.connection)", key: f.key).status == 202)
        #expect(eventually(timeout: 20) { (try? f.connection(first.connection)?.decode(String.self, "status")) == "disconnected" })
        #expect(try f.db.with { try JobAdmin.runNow(kind: "management.process", on: $0) } >= 1)
        #expect(eventually(timeout: 20) { flaky.forwards(templates).count == 2 }, "sent again to the first target")
        Thread.sleep(forTimeInterval: 1)
        #expect(two.forwards(templates).count == 1, "the sibling has its forward already: no second copy")
        #expect(flaky.forwards(templates).last?.headers["x-dualhook-connection"] == first.connection)
        #expect(eventually(timeout: 10) {
            (try? count(f, "SELECT count(*) FROM management_changes WHERE id = \(change) AND forward_status = 'delivered' AND connection_id = \(first.connection)")) == 1
        })
        #expect(try count(f, "SELECT count(*) FROM management_forwards WHERE change_id = \(change)") == 1)
    }

    @Test func aBanDisconnectsTheWABAAndHealthFollowsMeta() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let tenant = try EventReceiver()
        defer { tenant.stop() }
        let first = try onboard(f, receiver: tenant)
        let second = try onboard(f, receiver: tenant, waba: first.waba)
        let other = try onboard(f, receiver: tenant, tenant: "cust_b")

        // Quality drops at Meta; a refresh brings it into the health endpoint.
        try f.meta.post("/_fake/phones/\(other.phone)", #"{"qualityRating":"RED","healthStatus":"LIMITED","messagingLimit":"TIER_250"}"#)
        #expect(try f.server.send("POST", "/api/v1/connections/\(other.connection)/health/refresh", key: f.key).status == 202)
        var health: [String: Any] = [:]
        #expect(eventually(timeout: 20) {
            health = (try? f.server.send("GET", "/api/v1/connections/\(other.connection)/health", key: f.key).json) ?? [:]
            return health["qualityRating"] as? String == "RED"
        })
        #expect(health["status"] as? String == "LIMITED" && health["messagingLimitTier"] as? String == "TIER_250" && health["checkedAt"] is String)

        // Meta bans the WABA: both of its connections end, the other tenant's stays.
        // Sent by the fake Meta, routed as Meta routes account updates: to the app's callback.
        let ban = try f.meta.post("/_fake/emit", #"{"wabaId":"\#(first.waba)","field":"account_update","value":{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"DISABLE","waba_ban_date":"2026-11-21"}}}"#)
        #expect(ban["target"] as? String == f.server.baseURL + "/meta/webhook" && ban["status"] as? Int == 200)
        #expect(eventually(timeout: 20) { (try? f.events("connection.disconnected").count) == 2 })
        let ended = try f.events("connection.disconnected")
        #expect(Set(ended.compactMap { $0["connectionId"] as? String }) == [first.connection, second.connection])
        #expect(ended.allSatisfy { $0["reason"] as? String == "account_banned" })
        #expect(try f.connection(other.connection)?.decode(String.self, "status") == "active")
        // The ban itself, not the second signup's PARTNER_APP_INSTALLED, also an account_update.
        #expect(eventually(timeout: 10) {
            tenant.forwards("account_update").contains { String(decoding: $0.body, as: UTF8.self).contains("DISABLED_UPDATE") }
        }, "forwarded too")

        // Meta refusing to read the number (gone, or no longer the app's to read): said in its
        // health at once, not retried; the next read that works clears it.
        try f.meta.fault("GET /v25.0/\(other.phone)", status: 400, body: #"{"error":{"message":"Unsupported get request. Object with ID '\#(other.phone)' does not exist, cannot be loaded due to missing permissions, or does not support this operation.","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"AbC"}}"#)
        #expect(try f.server.send("POST", "/api/v1/connections/\(other.connection)/health/refresh", key: f.key).status == 202)
        func readIssues() -> [[String: Any]] {
            (try? f.server.send("GET", "/api/v1/connections/\(other.connection)/health", key: f.key).json["issues"] as? [[String: Any]]) ?? []
        }
        #expect(eventually(timeout: 20) { readIssues().contains { $0["entity"] as? String == "HEALTH_READ" && $0["code"] as? String == "100" } },
                "\(readIssues())")
        #expect(try count(f, "SELECT count(*) FROM jobs WHERE kind = 'connections.health_poll' AND attempt > 1 AND args->>'connectionId' = \(other.connection)") == 0,
                "not retried")
        #expect(try f.server.send("POST", "/api/v1/connections/\(other.connection)/health/refresh", key: f.key).status == 202)
        #expect(eventually(timeout: 20) { !readIssues().contains { $0["entity"] as? String == "HEALTH_READ" } })

        // The app throttled by Meta (4, whose answer names no wait: 30 s): the poll waits for
        // Meta's window without spending its attempt, then reads.
        try f.meta.post("/_fake/phones/\(other.phone)", #"{"qualityRating":"YELLOW"}"#)
        try f.meta.fault("GET /v25.0/\(other.phone)", preset: "app_rate_limit", times: 1)
        #expect(try f.server.send("POST", "/api/v1/connections/\(other.connection)/health/refresh", key: f.key).status == 202)
        #expect(eventually(timeout: 45) {
            (try? f.server.send("GET", "/api/v1/connections/\(other.connection)/health", key: f.key).json["qualityRating"] as? String) == "YELLOW"
        })
        #expect(try count(f, "SELECT count(*) FROM jobs WHERE kind = 'connections.health_poll' AND attempt > 1 AND args->>'connectionId' = \(other.connection)") == 0)

        // A token Meta no longer accepts ends the connection at the next poll.
        try f.meta.post("/_fake/wabas/\(other.waba)/revoke", "{}")
        #expect(try f.server.send("POST", "/api/v1/connections/\(other.connection)/health/refresh", key: f.key).status == 202)
        #expect(eventually(timeout: 20) { (try? f.connection(other.connection)?.decode(String.self, "status")) == "disconnected" })
        #expect(try f.events("connection.disconnected").last?["reason"] as? String == "token_revoked")
    }

    @Test func heartbeatRemindersFireOncePerCycleAndConfirmStartsANewOne() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let tenant = try EventReceiver()
        defer { tenant.stop() }
        let live = try onboard(f, receiver: tenant, mode: "coexistence")
        func sweep() throws {
            let before = try count(f, "SELECT count(*) FROM jobs WHERE kind = 'sweep.heartbeat' AND state = 'completed'")
            #expect(try DualhookProcess.run(["sweep", "heartbeat"], databaseURL: f.db.url).status == 0)
            #expect(eventually(timeout: 20) {
                (try? count(f, "SELECT count(*) FROM jobs WHERE kind = 'sweep.heartbeat' AND state = 'completed'")) == before + 1
            })
        }
        /// Moves the connection's clock: its cycle start and the cycles its reminders were sent for.
        func shift(days: Double) throws {
            try f.db.with { try $0.sql("""
                UPDATE connections SET heartbeat_confirmed_at = COALESCE(heartbeat_confirmed_at, created_at) - make_interval(secs => \(days * 86_400)),
                    heartbeat_due_soon_for = heartbeat_due_soon_for - make_interval(secs => \(days * 86_400)),
                    heartbeat_overdue_for = heartbeat_overdue_for - make_interval(secs => \(days * 86_400))
                WHERE id = \(live.connection)
                """) }
        }
        func sent(_ type: String) throws -> Int { try f.events(type).count }

        try sweep()
        #expect(try sent("connection.heartbeat.due_soon") == 0, "a fresh connection is not due")
        try shift(days: 12.5)
        try sweep()
        try sweep()
        #expect(try sent("connection.heartbeat.due_soon") == 1 && sent("connection.heartbeat.overdue") == 0)
        let shown = try f.server.send("GET", "/api/v1/connections/\(live.connection)", key: f.key).json["heartbeat"] as? [String: Any]
        #expect(shown?["applies"] as? Bool == true && shown?["status"] as? String == "due_soon")
        try shift(days: 1)
        try sweep()
        try sweep()
        #expect(try sent("connection.heartbeat.due_soon") == 1 && sent("connection.heartbeat.overdue") == 1)
        #expect(try f.events("connection.heartbeat.overdue").first?["connectionId"] as? String == live.connection)

        let confirmed = try f.server.send("POST", "/api/v1/connections/\(live.connection)/heartbeat/confirm", key: f.key)
        #expect(confirmed.status == 200 && (confirmed.json["heartbeat"] as? [String: Any])?["status"] as? String == "ok")
        #expect(try sent("connection.heartbeat.confirmed") == 1)
        try sweep()
        #expect(try sent("connection.heartbeat.due_soon") == 1 && sent("connection.heartbeat.overdue") == 1, "a new cycle")
        try shift(days: 12.5)
        try sweep()
        #expect(try sent("connection.heartbeat.due_soon") == 2, "the new cycle has its own reminder")
    }
}
