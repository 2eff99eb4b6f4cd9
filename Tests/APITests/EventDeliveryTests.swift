import Dualhook
import Foundation
import JobQueue
import HTTPServer
import Postgres
import TestSupport
import Testing

/// Lifecycle events delivered by the real worker to real receivers on loopback.
@Suite(.serialized) struct EventDeliveryTests {
    /// An API server, a worker on the events queue, and the account's event URL set.
    final class Fixture: @unchecked Sendable {
        // `@unchecked Sendable`: set once in init.
        let api: APIFixture
        let worker: DualhookProcess

        init(eventURL: String, slotsPerAccount: Int = 2) throws {
            api = try APIFixture(environment: ["DUALHOOK_ALLOW_PRIVATE_TARGETS": "1"])
            worker = try DualhookProcess(["work", "--queues", "events:8", "--poll-interval", "0.2"], databaseURL: api.db.url,
                                         environment: ["DUALHOOK_ALLOW_PRIVATE_TARGETS": "1",
                                                       "DUALHOOK_EVENT_SLOTS_PER_ACCOUNT": String(slotsPerAccount)],
                                         label: "events-worker")
            try setEventURL(eventURL, key: api.account.apiKey)
        }

        func close() {
            worker.stop()
            api.close()
        }

        func setEventURL(_ url: String, key: String) throws {
            let patched = try api.server.send("PATCH", "/api/v1/account", key: key, json: #"{"eventUrl":"\#(url)"}"#)
            guard patched.status == 200 else { throw SpawnError(message: "PATCH account: \(patched.text)") }
        }

        /// A person opening a fresh onboarding link (its page's script reports it) emits
        /// `onboarding.started`; returns the event id.
        @discardableResult
        func emit(key: String? = nil) throws -> String {
            let key = key ?? api.account.apiKey
            let created = try api.server.send("POST", "/api/v1/onboarding/sessions", key: key, json: sessionBody())
            let url = created.json["onboardingUrl"] as! String
            _ = try api.server.send("POST", "/onboard/\(url.split(separator: "/").last!)/open")
            return try api.db.with {
                try $0.sql("SELECT id FROM events WHERE data->>'sessionId' = \(created.json["sessionId"] as! String)").scalar(String.self)!
            }
        }

        func event(_ id: String, key: String? = nil) throws -> [String: Any] {
            try api.server.send("GET", "/api/v1/events/\(id)", key: key ?? api.account.apiKey).json
        }

        func status(_ id: String) throws -> String? {
            try api.db.with { try $0.sql("SELECT delivery_status FROM events WHERE id = \(id)").scalar(String.self) }
        }

        /// Brings the event's waiting retry forward instead of sleeping through the schedule.
        func runRetryNow(_ id: String) throws {
            let key = try jobKey(id)
            try api.db.with { try JobQueue.runNow(uniqueKey: key, queue: "events", on: $0) }
        }

        /// The unique key of the event's delivery job to the account's default endpoint.
        func jobKey(_ id: String) throws -> String {
            try api.db.with {
                try $0.sql("""
                    SELECT 'deliver:' || d.event_id || ':' || d.endpoint_id FROM event_deliveries d
                    JOIN event_endpoints p ON p.id = d.endpoint_id AND p.is_default WHERE d.event_id = \(id)
                    """).scalar(String.self)
            } ?? "deliver:\(id):none"
        }
    }

    /// A fixture whose account's event has reached `receiver` once; the event's id.
    func deliveredOne(to receiver: EventReceiver) throws -> (Fixture, String) {
        let f = try Fixture(eventURL: receiver.url)
        do {
            let id = try f.emit()
            guard eventually(timeout: 15, { receiver.requests.count == 1 }) else {
                throw SpawnError(message: "the event did not reach the receiver: \(receiver.requests.count) requests")
            }
            return (f, id)
        } catch {
            f.close()
            throw error
        }
    }

    /// A worker stopped cleanly flushes what it counted since its last flush (every 5 s): a
    /// rolling restart does not lose deliveries from /metrics.
    @Test func aCleanStopKeepsTheCountsSinceTheLastFlush() throws {
        let receiver = try EventReceiver()
        defer { receiver.stop() }
        let (f, _) = try deliveredOne(to: receiver)
        defer { f.close() }
        f.worker.stop()
        let delivered = try f.api.db.with {
            try $0.sql("SELECT COALESCE(sum(value), 0)::int FROM process_counters WHERE name = 'dualhook_event_deliveries_total'").scalar(Int.self)
        }
        #expect(delivered == 1, "counted before the worker exited")
    }

    /// `jobs retry` of a delivery that succeeded would run a job that finds its event delivered
    /// and sends nothing: refused, pointing at redeliver, instead of saying it will run.
    @Test func retryingADeliveredEventsJobPointsAtRedeliver() throws {
        let receiver = try EventReceiver()
        defer { receiver.stop() }
        let (f, id) = try deliveredOne(to: receiver)
        defer { f.close() }
        let job = try #require(try f.api.db.with {
            try $0.sql("SELECT id FROM jobs WHERE kind = 'events.deliver' AND state = 'completed' AND args->>'eventId' = \(id)").scalar(Int64.self)
        })
        let retried = try DualhookProcess.run(["jobs", "retry", String(job)], databaseURL: f.api.db.url)
        #expect(retried.status == 1 && retried.output.contains("/api/v1/events/\(id)/redeliver"), "\(retried.output)")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(receiver.requests.count == 1)
    }

    @Test func bothSignaturesVerifyWithTheSpecAloneAndTheTriggerEnqueuesTheKindAsDeclared() throws {
        let receiver = try EventReceiver()
        defer { receiver.stop() }
        let (f, id) = try deliveredOne(to: receiver)
        defer { f.close() }
        let request = try #require(receiver.requests.first)
        #expect(eventually(timeout: 15) {
            (try? f.api.server.send("GET", "/metrics", key: APIServer.metricsToken).text)?
                .contains(#"dualhook_event_deliveries_total{outcome="delivered"} 1"#) == true
        }, "the worker's delivery is counted for /metrics")
        // So is how long the delivery job waited to be claimed: a histogram whose buckets rise
        // in `le` and in count, ending at +Inf with the count.
        let metrics = try f.api.server.send("GET", "/metrics", key: APIServer.metricsToken).text.split(separator: "\n")
        #expect(metrics.contains("# TYPE dualhook_job_claim_latency_seconds histogram"))
        let buckets = metrics.filter { $0.hasPrefix(#"dualhook_job_claim_latency_seconds_bucket{queue="events","#) }.map { line in
            (le: String(line.firstMatch(of: #/le="([^"]+)"/#)!.1), count: Int(line.split(separator: " ").last!)!)
        }
        #expect(buckets.map(\.le) == ["0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "30", "+Inf"], "every bound, empty ones too: \(buckets)")
        #expect(zip(buckets, buckets.dropFirst()).allSatisfy { (Double($0.le) ?? .infinity) < (Double($1.le) ?? .infinity) && $0.count <= $1.count })
        let count = metrics.first { $0.hasPrefix(#"dualhook_job_claim_latency_seconds_count{queue="events"}"#) }.flatMap { Int($0.split(separator: " ").last!) }
        #expect(count != nil && count == buckets.last?.count && count! >= 1)
        #expect(metrics.contains { $0.hasPrefix(#"dualhook_job_claim_latency_seconds_sum{queue="events"} "#) && $0.contains(".") })
        // The worker that delivered it is counted live for its queue.
        #expect(metrics.contains(#"dualhook_workers{queue="events",state="live"} 1"#), "\(metrics.filter { $0.contains("workers") })")
        let secret = f.api.account.eventSigningSecret
        #expect(request.json["id"] as? String == id && request.json["type"] as? String == "onboarding.started")
        #expect((request.json["data"] as? [String: Any])?["metadata"] as? [String: String] == ["plan": "pro"])
        #expect(request.json["createdAt"] is String)
        #expect(request.headers["x-dualhook-event"] == "onboarding.started" && request.headers["x-dualhook-event-id"] == id)
        #expect(request.headers["webhook-id"] == id)
        let dualhook = try #require(request.headers["x-dualhook-signature"])
        let timestamp = try #require(request.headers["webhook-timestamp"])
        let standard = try #require(request.headers["webhook-signature"])
        #expect(dualhook.hasPrefix("t=\(timestamp),v1="))
        #expect(abs((Double(timestamp) ?? 0) - Date().timeIntervalSince1970) < 30)

        #expect(try OpenSSL.verifiesDualhook(header: dualhook, body: request.body, secret: secret))
        #expect(try OpenSSL.verifiesStandard(signature: standard, id: id, timestamp: timestamp, body: request.body, secret: secret))
        var tampered = request.body
        tampered[tampered.count / 2] ^= 0x01
        #expect(try !OpenSSL.verifiesDualhook(header: dualhook, body: tampered, secret: secret))
        #expect(try !OpenSSL.verifiesStandard(signature: standard, id: id, timestamp: timestamp, body: tampered, secret: secret))
        let otherTime = String((Int(timestamp) ?? 0) + 1)
        #expect(try !OpenSSL.verifiesDualhook(header: dualhook.replacingOccurrences(of: "t=\(timestamp)", with: "t=\(otherTime)"),
                                              body: request.body, secret: secret))
        #expect(try !OpenSSL.verifiesStandard(signature: standard, id: id, timestamp: otherTime, body: request.body, secret: secret))
        let otherSecret = "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        #expect(try !OpenSSL.verifiesDualhook(header: dualhook, body: request.body, secret: otherSecret))
        #expect(try !OpenSSL.verifiesStandard(signature: standard, id: id, timestamp: timestamp, body: request.body, secret: otherSecret))

        #expect(eventually(timeout: 5) { (try? f.status(id)) == "delivered" })
        let shown = try f.event(id)
        #expect(shown["deliveryStatus"] as? String == "delivered" && shown["attemptCount"] as? Int == 1)
        #expect((shown["attempts"] as? [[String: Any]])?.first?["statusCode"] as? Int == 200)
        let job = try f.api.db.with { try $0.sql("SELECT kind, queue, max_attempts, timeout_seconds FROM jobs WHERE unique_key = \(try f.jobKey(id))").first! }
        #expect(try job.decode(String.self, at: 0) == DeliverEvent.kind && job.decode(String.self, at: 1) == DeliverEvent.queue)
        #expect(try job.decode(Int.self, at: 2) == DeliverEvent.retryPolicy.maxAttempts)
        #expect(try job.decode(Int.self, at: 3) == Int(DeliverEvent.timeout))
        for log in [f.worker.log, f.api.server.process.log] { #expect(!log.contains(secret)) }
    }

    @Test func failedAttemptsAreLoggedAndRetriedOnTheSchedule() throws {
        let receiver = try EventReceiver { n in n < 3 ? .text(500, "boom \(n)") : .text(200, "ok") }
        defer { receiver.stop() }
        let f = try Fixture(eventURL: receiver.url)
        defer { f.close() }
        let id = try f.emit()
        for (n, expected) in [60.0, 300, 900].enumerated() {
            #expect(eventually(timeout: 15) { receiver.requests.count == n + 1 })
            var delay: Double?
            eventually(timeout: 5) {
                delay = try? f.api.db.with { try $0.sql("""
                    SELECT extract(epoch FROM run_at - (errors->-1->>'at')::timestamptz)::float8 FROM jobs
                    WHERE unique_key = \(try f.jobKey(id)) AND state = 'available' AND attempt = \(n + 1)
                    """).scalar(Double.self) }
                return delay != nil
            }
            #expect(delay.map { abs($0 - expected) < 2 } == true, "retry \(n + 1) after \(String(describing: delay)) s, not \(expected)")
            #expect(try f.status(id) == "pending")
            try f.runRetryNow(id)
        }
        #expect(eventually(timeout: 15) { (try? f.status(id)) == "delivered" })
        let attempts = try #require(try f.event(id)["attempts"] as? [[String: Any]])
        #expect(attempts.map { $0["statusCode"] as? Int } == [500, 500, 500, 200])
        #expect(attempts.first?["responseBody"] as? String == "boom 0" && attempts.first?["error"] as? String == "HTTP 500")
        #expect(Set(receiver.requests.map(\.eventID)) == [id])
    }

    @Test func aRetryAfterPushesTheRetryLaterWithinTheSchedule() throws {
        let receiver = try EventReceiver { n in
            n == 0 ? Response(status: 429, headers: [("Retry-After", "240")]) : Response(status: 503, headers: [("Retry-After", "5")])
        }
        defer { receiver.stop() }
        let f = try Fixture(eventURL: receiver.url)
        defer { f.close() }
        let id = try f.emit()
        func scheduledDelay(attempt: Int) -> Double? {
            var delay: Double?
            eventually(timeout: 15) {
                delay = try? f.api.db.with { try $0.sql("""
                    SELECT extract(epoch FROM run_at - (errors->-1->>'at')::timestamptz)::float8 FROM jobs
                    WHERE unique_key = \(try f.jobKey(id)) AND state = 'available' AND attempt = \(attempt)
                    """).scalar(Double.self) }
                return delay != nil
            }
            return delay
        }
        let first = scheduledDelay(attempt: 1)
        #expect(first.map { abs($0 - 240) < 2 } == true, "a 429's Retry-After of 240 s beats the 60 s step: \(String(describing: first))")
        try f.runRetryNow(id)
        let second = scheduledDelay(attempt: 2)
        #expect(second.map { abs($0 - 300) < 2 } == true, "a shorter Retry-After keeps the schedule's 5 minutes: \(String(describing: second))")
        let attempts = try f.event(id)["attempts"] as? [[String: Any]]
        #expect(attempts?.map { $0["statusCode"] as? Int } == [429, 503])
    }

    @Test func anEndpointThatWasDownGetsEverythingAndARedirectIsAFailure() throws {
        let receiver = try EventReceiver()
        receiver.stop()  // down: connections refused
        // A slot for each event: with fewer, a job that finds the slots of a failing endpoint
        // taken stays away 10–20 s (DeliverEvent), past this test's wait for the first attempts.
        let f = try Fixture(eventURL: receiver.url, slotsPerAccount: 5)
        defer { f.close() }
        let ids = try (0..<5).map { _ in try f.emit() }
        #expect(eventually(timeout: 15) {
            (try? f.api.db.with { try $0.sql("SELECT count(*) FROM event_attempts").scalar(Int.self) }) == 5
        })
        #expect(try ids.allSatisfy { try f.status($0) == "pending" })
        let account = try f.api.server.send("GET", "/api/v1/account", key: f.api.account.apiKey).json
        let endpoint = account["eventEndpoint"] as? [String: Any]
        #expect(endpoint?["status"] as? String == "failing" && endpoint?["failingSince"] is String)
        #expect((endpoint?["lastError"] as? String)?.contains("transport") == true)

        try receiver.restart()
        defer { receiver.stop() }
        // Each retry is brought forward once it is scheduled (a failed attempt is logged just before).
        #expect(eventually(timeout: 15) {
            for id in ids { try? f.runRetryNow(id) }
            return Set(receiver.requests.map(\.eventID)) == Set(ids)
        }, "nothing lost")
        #expect(eventually(timeout: 5) { (try? ids.allSatisfy { try f.status($0) == "delivered" }) == true })
        let healthy = try f.api.server.send("GET", "/api/v1/account", key: f.api.account.apiKey).json["eventEndpoint"] as? [String: Any]
        #expect(healthy?["status"] as? String == "healthy" && healthy?["failingSince"] is NSNull)

        // A redirect is an answer, not a hop.
        let target = try EventReceiver()
        defer { target.stop() }
        let redirecting = try EventReceiver { _ in Response(status: 302, headers: [("Location", target.url)]) }
        defer { redirecting.stop() }
        try f.setEventURL(redirecting.url, key: f.api.account.apiKey)
        let moved = try f.emit()
        #expect(eventually(timeout: 15) { ((try? f.event(moved)["attempts"]) as? [[String: Any]])?.count == 1 })
        let attempt = (try f.event(moved)["attempts"] as? [[String: Any]])?.first
        #expect(attempt?["statusCode"] as? Int == 302 && (attempt?["error"] as? String)?.contains("redirects are not followed") == true)
        #expect(try f.status(moved) == "pending" && target.requests.isEmpty)
    }

    @Test func duringARotationBothSecretsSignAndOldEventsCanBeRedelivered() throws {
        let receiver = try EventReceiver()
        defer { receiver.stop() }
        let f = try Fixture(eventURL: receiver.url)
        defer { f.close() }
        let old = try f.emit()
        #expect(eventually(timeout: 15) { receiver.requests.count == 1 })
        let oldSecret = f.api.account.eventSigningSecret
        let rotated = try f.api.server.send("POST", "/api/v1/account/signing-secret/rotate", key: f.api.account.apiKey)
        let newSecret = try #require(rotated.json["eventSigningSecret"] as? String)

        let fresh = try f.emit()
        #expect(eventually(timeout: 15) { receiver.requests.count == 2 })
        let redelivery = try f.api.server.send("POST", "/api/v1/events/\(old)/redeliver", key: f.api.account.apiKey)
        #expect(redelivery.status == 202)
        #expect(eventually(timeout: 15) { receiver.requests.count == 3 })
        let requests = receiver.requests
        #expect(requests.map(\.eventID) == [old, fresh, old])
        for request in requests.dropFirst() {
            let header = request.headers["x-dualhook-signature"] ?? ""
            #expect(header.components(separatedBy: "v1=").count == 3, "one signature per valid secret")
            let standard = request.headers["webhook-signature"] ?? ""
            for secret in [oldSecret, newSecret] {
                #expect(try OpenSSL.verifiesDualhook(header: header, body: request.body, secret: secret))
                #expect(try OpenSSL.verifiesStandard(signature: standard, id: request.eventID,
                                                     timestamp: request.headers["webhook-timestamp"] ?? "", body: request.body, secret: secret))
            }
        }
        #expect(requests[2].body == requests[0].body, "a redelivery sends the same event")
        #expect(try f.event(old)["attemptCount"] as? Int == 2)

        // After the overlap only the new secret signs.
        try f.api.db.with { try $0.sql("UPDATE account_signing_secrets SET expires_at = now() - interval '1 second' WHERE expires_at IS NOT NULL") }
        try f.emit()
        #expect(eventually(timeout: 15) { receiver.requests.count == 4 })
        let last = receiver.requests[3]
        let header = last.headers["x-dualhook-signature"] ?? ""
        #expect(header.components(separatedBy: "v1=").count == 2)
        #expect(try OpenSSL.verifiesDualhook(header: header, body: last.body, secret: newSecret))
        #expect(try !OpenSSL.verifiesDualhook(header: header, body: last.body, secret: oldSecret))
        #expect(try f.api.server.send("POST", "/api/v1/events/evt_nope/redeliver", key: f.api.account.apiKey).status == 404)
        let noEndpoint = try f.api.server.send("POST", "/api/v1/events/\(last.eventID)/redeliver", key: f.api.account.apiKey,
                                               json: #"{"endpointId":"ep_nope"}"#)
        #expect(noEndpoint.status == 404 && noEndpoint.errorParam == "endpointId")
    }

    @Test func aHangingEndpointDoesNotSlowAnotherAccount() throws {
        let hanging = try EventReceiver(threads: 8) { _ in
            Thread.sleep(forTimeInterval: 20)
            return .text(200, "late")
        }
        defer { hanging.stop() }
        let fast = try EventReceiver()
        defer { fast.stop() }
        let f = try Fixture(eventURL: hanging.url, slotsPerAccount: 2)
        defer { f.close() }
        let other = try f.api.anotherAccount()
        try f.setEventURL(fast.url, key: other.apiKey)

        // More of them than the queue has slots (8): without the per-account bound they would take all.
        let stuck = try (0..<12).map { _ in try f.emit() }
        #expect(eventually(timeout: 10) { hanging.requests.count == 2 }, "the hanging account's two slots are taken")
        let started = Date()
        let quick = try (0..<4).map { _ in try f.emit(key: other.apiKey) }
        #expect(eventually(timeout: 5) { Set(fast.requests.map(\.eventID)) == Set(quick) })
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed < 5, "the other account's events took \(elapsed) s")
        // Written as delivered while the hanging attempts still wait (deliveries run in batches:
        // an answer is written as it comes, not when its batch's last one does).
        #expect(eventually(timeout: 5) { quick.allSatisfy { (try? f.status($0)) == "delivered" } })
        #expect(hanging.requests.count == 2, "no more than its slots in flight for the hanging account")
        #expect(try stuck.allSatisfy { try f.status($0) == "pending" })
        // The hanging endpoint times out after 15 s and shows as failing.
        #expect(eventually(timeout: 25) {
            (try? f.api.db.with { try $0.sql("SELECT failing_since IS NOT NULL FROM event_endpoints WHERE account_id = \(f.api.account.accountId)").scalar(Bool.self) }) == true
        })
        let endpoint = try f.api.server.send("GET", "/api/v1/account", key: f.api.account.apiKey).json["eventEndpoint"] as? [String: Any]
        #expect(endpoint?["status"] as? String == "failing" && (endpoint?["lastError"] as? String)?.contains("no answer") == true)
        // Another account's event id is not found.
        #expect(try f.api.server.send("GET", "/api/v1/events/\(quick[0])", key: f.api.account.apiKey).status == 404)
    }

    @Test func listingFiltersAndPages() throws {
        let receiver = try EventReceiver()
        defer { receiver.stop() }
        let f = try Fixture(eventURL: receiver.url)
        defer { f.close() }
        let ids = try (0..<3).map { _ in try f.emit() }
        let key = f.api.account.apiKey
        let first = try f.api.server.send("GET", "/api/v1/events?limit=2", key: key)
        #expect((first.json["data"] as? [[String: Any]])?.map { $0["id"] as? String } == [ids[2], ids[1]])
        let cursor = try #require(first.json["nextCursor"] as? String)
        let second = try f.api.server.send("GET", "/api/v1/events?limit=2&cursor=\(cursor)", key: key)
        #expect((second.json["data"] as? [[String: Any]])?.map { $0["id"] as? String } == [ids[0]])
        #expect(second.json["nextCursor"] is NSNull)
        let none = try f.api.server.send("GET", "/api/v1/events?type=onboarding.completed", key: key)
        #expect((none.json["data"] as? [Any])?.isEmpty == true)
        let future = try f.api.server.send("GET", "/api/v1/events?since=2999-01-01T00:00:00Z", key: key)
        #expect((future.json["data"] as? [Any])?.isEmpty == true)
        let bad = try f.api.server.send("GET", "/api/v1/events?since=yesterday", key: key)
        #expect(bad.status == 400 && bad.errorParam == "since")
        let badType = try f.api.server.send("GET", "/api/v1/events?type=nope", key: key)
        #expect(badType.status == 400 && badType.errorParam == "type")
    }
}
