import Foundation
import HTTPServer
import JobQueue
import Postgres
import Synchronization
import TestSupport
import Testing

/// Several event endpoints per account, delivered by real workers to real receivers on loopback.
@Suite(.serialized) struct EventEndpointTests {
    static let environment = ["DUALHOOK_ALLOW_PRIVATE_TARGETS": "1"]

    final class Fixture: @unchecked Sendable {
        // `@unchecked Sendable`: set once in init.
        let api: APIFixture
        var workers: [DualhookProcess] = []

        init(workers count: Int = 1, queues: String = "events:1,maintenance:1", slotsPerAccount: Int = 8) throws {
            api = try APIFixture(environment: EventEndpointTests.environment)
            for index in 0..<count {
                workers.append(try DualhookProcess(["work", "--queues", queues, "--poll-interval", "0.2"], databaseURL: api.db.url,
                                                   environment: EventEndpointTests.environment.merging(
                                                       ["DUALHOOK_EVENT_SLOTS_PER_ACCOUNT": String(slotsPerAccount)]) { $1 },
                                                   label: "events-worker-\(index)"))
            }
        }

        func close() {
            workers.forEach { $0.stop() }
            api.close()
        }

        var key: String { api.account.apiKey }

        /// Creates an endpoint; answers its id and secret.
        func endpoint(_ fields: [String: Any]) throws -> (id: String, secret: String) {
            let body = String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
            let created = try api.server.send("POST", "/api/v1/event-endpoints", key: key, json: body)
            guard created.status == 201, let id = created.json["endpointId"] as? String, let secret = created.json["secret"] as? String else {
                throw SpawnError(message: "create endpoint: \(created.status) \(created.text)")
            }
            return (id, secret)
        }

        /// A person opening a fresh onboarding link for `tenant`: `onboarding.started`. Answers
        /// the session id and the event id.
        @discardableResult
        func started(tenant: String) throws -> (session: String, event: String) {
            let created = try api.server.send("POST", "/api/v1/onboarding/sessions", key: key, json: sessionBody(tenant: tenant))
            let session = created.json["sessionId"] as! String
            let url = created.json["onboardingUrl"] as! String
            _ = try api.server.send("POST", "/onboard/\(url.split(separator: "/").last!)/open")
            return (session, try eventID(session: session, type: "onboarding.started")!)
        }

        func eventID(session: String, type: String) throws -> String? {
            try api.db.with {
                try $0.sql("SELECT id FROM events WHERE data->>'sessionId' = \(session) AND type = \(type)").scalar(String.self)
            }
        }

        func deliveryStatus(event: String, endpoint: String) throws -> String? {
            try api.db.with {
                try $0.sql("SELECT status FROM event_deliveries WHERE event_id = \(event) AND endpoint_id = \(endpoint)").scalar(String.self)
            }
        }

        /// Runs a sweep as operators do and waits for a worker to finish it.
        func sweep(_ name: String, kind: String) throws {
            let before = try completed(kind)
            #expect(try DualhookProcess.run(["sweep", name], databaseURL: api.db.url).status == 0)
            #expect(eventually(timeout: 20) { (try? self.completed(kind)) == before + 1 }, "the \(name) sweep ran")
        }

        func completed(_ kind: String) throws -> Int {
            try api.db.with { try $0.sql("SELECT count(*) FROM jobs WHERE kind = \(kind) AND state = 'completed'").scalar(Int.self) ?? 0 }
        }

        func shiftFailures(_ endpoint: String, days: Double) throws {
            try api.db.with {
                try $0.sql("UPDATE event_endpoints SET failing_since = now() - make_interval(secs => \(days * 86_400)) WHERE id = \(endpoint)")
            }
        }
    }

    @Test func twoEndpointsEachGetExactlyTheirEventsSignedWithTheirOwnSecret() throws {
        let onlyA = try EventReceiver(), onlyB = try EventReceiver()
        defer { onlyA.stop(); onlyB.stop() }
        let f = try Fixture()
        defer { f.close() }
        // Bad input names its field.
        let badType = try f.api.server.send("POST", "/api/v1/event-endpoints", key: f.key, json: #"{"url":"\#(onlyA.url)","eventTypes":["onboarding.nope"]}"#)
        #expect(badType.status == 400 && badType.errorParam == "eventTypes")
        #expect(try f.api.server.send("POST", "/api/v1/event-endpoints", key: f.key, json: #"{"eventTypes":[]}"#).errorParam == "url")
        // A password in the URL would be stored and shown as given: refused, and not echoed.
        let withPassword = onlyA.url.replacingOccurrences(of: "://", with: "://hook:hunter2-secret@")
        let credentials = try f.api.server.send("POST", "/api/v1/event-endpoints", key: f.key, json: #"{"url":"\#(withPassword)"}"#)
        #expect(credentials.status == 400 && credentials.errorParam == "url" && !credentials.text.contains("hunter2"), "\(credentials.text)")
        #expect(try f.api.server.send("PATCH", "/api/v1/account", key: f.key, json: #"{"eventUrl":"\#(withPassword)"}"#).errorParam == "eventUrl")
        #expect(try f.api.server.send("POST", "/api/v1/event-endpoints", key: f.key, json: #"{"url":"\#(onlyA.url)","rateLimitPerSecond":0}"#)
            .errorParam == "rateLimitPerSecond")

        let a = try f.endpoint(["url": onlyA.url, "description": "tenant a's starts", "eventTypes": ["onboarding.started"], "tenantIds": ["cust_a"]])
        let b = try f.endpoint(["url": onlyB.url, "tenantIds": ["cust_b"], "rateLimitPerSecond": 50])
        #expect(a.secret.hasPrefix("whsec_") && a.secret != b.secret)
        let shown = try f.api.server.send("GET", "/api/v1/event-endpoints/\(a.id)", key: f.key)
        #expect(shown.json["secret"] == nil, "the secret is answered on create and rotate only")
        #expect(shown.json["eventTypes"] as? [String] == ["onboarding.started"] && shown.json["tenantIds"] as? [String] == ["cust_a"])
        #expect(shown.json["status"] as? String == "enabled" && shown.json["isDefault"] as? Bool == false)

        let startA = try f.started(tenant: "cust_a")
        let startB = try f.started(tenant: "cust_b")
        for session in [startA.session, startB.session] {
            #expect(try f.api.server.send("POST", "/api/v1/onboarding/sessions/\(session)/cancel", key: f.key).status == 200)
        }
        let failedA = try #require(try f.eventID(session: startA.session, type: "onboarding.failed"))
        let failedB = try #require(try f.eventID(session: startB.session, type: "onboarding.failed"))
        #expect(eventually(timeout: 15) { onlyB.requests.count == 2 && onlyA.requests.count == 1 })
        Thread.sleep(forTimeInterval: 1)
        #expect(onlyA.requests.map(\.eventID) == [startA.event], "A takes onboarding.started of cust_a only")
        #expect(Set(onlyB.requests.map(\.eventID)) == [startB.event, failedB] && onlyB.requests.count == 2, "B takes everything of cust_b")
        #expect(try f.deliveryStatus(event: failedA, endpoint: a.id) == nil && f.deliveryStatus(event: failedA, endpoint: b.id) == nil)
        // A redelivery to one endpoint keeps to its filters: cust_b's event never goes to cust_a's endpoint.
        let crossing = try f.api.server.send("POST", "/api/v1/events/\(startB.event)/redeliver", key: f.key, json: #"{"endpointId":"\#(a.id)"}"#)
        #expect(crossing.status == 409 && crossing.errorParam == "endpointId", "\(crossing.status) \(crossing.text)")
        #expect(try f.api.server.send("POST", "/api/v1/events/\(startA.event)/redeliver", key: f.key, json: #"{"endpointId":"\#(a.id)"}"#).status == 202)
        #expect(eventually(timeout: 15) { onlyA.requests.filter { $0.eventID == startA.event }.count == 2 })

        for (receiver, mine, theirs) in [(onlyA, a.secret, b.secret), (onlyB, b.secret, a.secret)] {
            for request in receiver.requests {
                let dualhook = try #require(request.headers["x-dualhook-signature"])
                let id = try #require(request.headers["webhook-id"]), timestamp = try #require(request.headers["webhook-timestamp"])
                let standard = try #require(request.headers["webhook-signature"])
                #expect(try OpenSSL.verifiesDualhook(header: dualhook, body: request.body, secret: mine))
                #expect(try OpenSSL.verifiesStandard(signature: standard, id: id, timestamp: timestamp, body: request.body, secret: mine))
                #expect(try !OpenSSL.verifiesDualhook(header: dualhook, body: request.body, secret: theirs))
                #expect(try !OpenSSL.verifiesStandard(signature: standard, id: id, timestamp: timestamp, body: request.body, secret: theirs))
            }
        }
        // Per-endpoint delivery in the event's detail and in the listing.
        #expect(eventually(timeout: 5) {
            let event = (try? f.api.server.send("GET", "/api/v1/events/\(startB.event)", key: f.key).json) ?? [:]
            let deliveries = event["deliveries"] as? [[String: Any]] ?? []
            return deliveries.count == 1 && deliveries[0]["endpointId"] as? String == b.id && deliveries[0]["status"] as? String == "delivered"
                && (event["attempts"] as? [[String: Any]])?.first?["endpointId"] as? String == b.id
                && event["deliveryStatus"] as? String == "delivered"
        })
        let listed = try f.api.server.send("GET", "/api/v1/events?tenantId=cust_a", key: f.key).json["data"] as? [[String: Any]] ?? []
        let listedStart = listed.first { $0["id"] as? String == startA.event }
        #expect((listedStart?["deliveries"] as? [[String: Any]])?.map { $0["endpointId"] as? String } == [a.id])
        #expect((listed.first { $0["id"] as? String == failedA }?["deliveryStatus"]) as? String == "no_endpoint")

        // Rotation with the overlap the account chooses: both sign until it ends, and the
        // endpoint says until when.
        #expect(try f.api.server.send("GET", "/api/v1/event-endpoints/\(a.id)", key: f.key).json["previousSecretsExpireAt"] is NSNull)
        let rotated = try f.api.server.send("POST", "/api/v1/event-endpoints/\(a.id)/rotate-secret", key: f.key, json: #"{"overlapSeconds":600}"#)
        let newSecret = try #require(rotated.json["secret"] as? String)
        let expiresText = rotated.json["previousSecretsExpireAt"] as? String ?? ""
        let expires = ISO8601DateFormatter().date(from: expiresText.replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression)) ?? .distantPast
        #expect(abs(expires.timeIntervalSinceNow - 600) < 30)
        #expect(try f.api.server.send("GET", "/api/v1/event-endpoints/\(a.id)", key: f.key).json["previousSecretsExpireAt"] as? String
                    == expiresText)
        let page = try f.api.server.send("GET", "/api/v1/event-endpoints", key: f.key).json["data"] as? [[String: Any]] ?? []
        #expect(page.first { $0["endpointId"] as? String == a.id }?["previousSecretsExpireAt"] as? String == expiresText)
        #expect(page.first { $0["endpointId"] as? String == b.id }?["previousSecretsExpireAt"] is NSNull)
        #expect(try f.api.server.send("POST", "/api/v1/event-endpoints/\(a.id)/rotate-secret", key: f.key, json: #"{"overlapSeconds":-1}"#)
            .errorParam == "overlapSeconds")
        let third = try f.started(tenant: "cust_a")
        #expect(eventually(timeout: 15) { onlyA.requests.contains { $0.eventID == third.event } })
        let signed = try #require(onlyA.requests.first { $0.eventID == third.event })
        let header = try #require(signed.headers["x-dualhook-signature"])
        #expect(header.components(separatedBy: "v1=").count == 3, "the old and the new secret both sign during the overlap")
        #expect(try OpenSSL.verifiesDualhook(header: header, body: signed.body, secret: newSecret))
        // Without overlap the previous secrets stop at once: rotate and GET both say null.
        let abrupt = try f.api.server.send("POST", "/api/v1/event-endpoints/\(a.id)/rotate-secret", key: f.key, json: #"{"overlapSeconds":0}"#)
        #expect(abrupt.status == 200 && abrupt.json["previousSecretsExpireAt"] is NSNull, "\(abrupt.text)")
        #expect(try f.api.server.send("GET", "/api/v1/event-endpoints/\(a.id)", key: f.key).json["previousSecretsExpireAt"] is NSNull)

        // The account's eventUrl is its default endpoint, in step both ways.
        #expect(try f.api.server.send("PATCH", "/api/v1/account", key: f.key, json: #"{"eventUrl":"\#(onlyB.url)"}"#).status == 200)
        let endpoints = try f.api.server.send("GET", "/api/v1/event-endpoints", key: f.key).json["data"] as? [[String: Any]] ?? []
        let defaults = endpoints.filter { $0["isDefault"] as? Bool == true }
        #expect(endpoints.count == 3 && defaults.count == 1 && defaults.first?["url"] as? String == onlyB.url)
        let defaultID = try #require(defaults.first?["endpointId"] as? String)
        #expect(try f.api.server.send("PATCH", "/api/v1/event-endpoints/\(defaultID)", key: f.key, json: #"{"url":"\#(onlyA.url)"}"#).status == 200)
        #expect(try f.api.server.send("GET", "/api/v1/account", key: f.key).json["eventUrl"] as? String == onlyA.url)
        #expect(try f.api.server.send("DELETE", "/api/v1/event-endpoints/\(defaultID)", key: f.key).status == 200)
        #expect(try f.api.server.send("GET", "/api/v1/account", key: f.key).json["eventUrl"] is NSNull)
        // Another account's endpoint is not found.
        let other = try f.api.anotherAccount()
        #expect(try f.api.server.send("GET", "/api/v1/event-endpoints/\(a.id)", key: other.apiKey).status == 404)
        for log in f.workers.map(\.log) + [f.api.server.process.log] {
            #expect(!log.contains(a.secret) && !log.contains(b.secret) && !log.contains(newSecret))
        }
    }

    /// A 410 after failures: the endpoint's last error and the notice name the 410, not the
    /// failure before it; enabling starts the endpoint's health afresh.
    @Test func aGoneAfterFailuresIsTheLastErrorAndEnablingClearsIt() throws {
        let answers = Atomic<Int>(0)
        // 500, then 410, then (the held event, once enabled) 200.
        let receiver = try EventReceiver { _ in
            switch answers.add(1, ordering: .relaxed).oldValue {
            case 0: .text(500, "down")
            case 1: .text(410, "gone")
            default: .text(200, "ok")
            }
        }
        let watcher = try EventReceiver()
        defer { receiver.stop(); watcher.stop() }
        let f = try Fixture()
        defer { f.close() }
        let g = try f.endpoint(["url": receiver.url, "tenantIds": ["cust_g"]])
        _ = try f.endpoint(["url": watcher.url, "eventTypes": ["endpoint.disabled"]])
        let event = try f.started(tenant: "cust_g").event
        let key = "deliver:\(event):\(g.id)"
        #expect(eventually(timeout: 60) {
            if watcher.requests.contains(where: { $0.json["type"] as? String == "endpoint.disabled" }) { return true }
            // The retry brought forward instead of waiting a minute.
            _ = try? f.api.db.with { try JobQueue.runNow(uniqueKey: key, queue: "events", on: $0) }
            return false
        })
        #expect(receiver.requests.count == 2)
        let health = try f.api.server.send("GET", "/api/v1/event-endpoints/\(g.id)", key: f.key).json["health"] as? [String: Any]
        #expect(health?["lastError"] as? String == "HTTP 410", "\(String(describing: health))")
        let notice = watcher.requests.first { $0.json["type"] as? String == "endpoint.disabled" }
        #expect((notice?.json["data"] as? [String: Any])?["lastError"] as? String == "HTTP 410")
        // The operator sees it without the account's key.
        let metrics = try f.api.server.send("GET", "/metrics", key: APIServer.metricsToken).text
        #expect(metrics.contains(#"dualhook_event_endpoints{state="disabled"} 1"#) && metrics.contains(#"dualhook_event_endpoints{state="failing"} 0"#),
                "\(metrics.split(separator: "\n").filter { $0.contains("event_endpoints") })")
        #expect(try f.api.server.send("POST", "/api/v1/event-endpoints/\(g.id)/enable", key: f.key).status == 200)
        let enabled = try f.api.server.send("GET", "/api/v1/event-endpoints/\(g.id)", key: f.key).json["health"] as? [String: Any]
        #expect(enabled?["lastError"] is NSNull && enabled?["status"] as? String == "healthy", "\(String(describing: enabled))")
        // The held event goes out and is delivered: the health stays clear.
        #expect(eventually(timeout: 15) { (try? f.deliveryStatus(event: event, endpoint: g.id)) == "delivered" })
        let after = try f.api.server.send("GET", "/api/v1/event-endpoints/\(g.id)", key: f.key).json["health"] as? [String: Any]
        #expect(after?["lastError"] is NSNull && after?["status"] as? String == "healthy", "\(String(describing: after))")
    }

    @Test func anAccountPausesAnEndpointItsEventsAreHeldAndGoOutWhenEnabled() throws {
        let receiver = try EventReceiver(), watcher = try EventReceiver()
        defer { receiver.stop(); watcher.stop() }
        let f = try Fixture()
        defer { f.close() }
        let p = try f.endpoint(["url": receiver.url, "tenantIds": ["cust_p"]])
        _ = try f.endpoint(["url": watcher.url, "eventTypes": ["endpoint.disabled", "endpoint.enabled"]])
        let path = "/api/v1/event-endpoints/\(p.id)"

        let paused = try f.api.server.send("POST", path + "/disable", key: f.key)
        #expect(paused.status == 200 && paused.json["status"] as? String == "disabled" && paused.json["disabledReason"] as? String == "manual",
                "\(paused.status) \(paused.text)")
        // Again: answered as it is, no second notice.
        let again = try f.api.server.send("POST", path + "/disable", key: f.key)
        #expect(again.status == 200 && again.json["disabledAt"] as? String == paused.json["disabledAt"] as? String)
        #expect(try f.api.server.send("POST", "/api/v1/event-endpoints/ep_nosuchendpoint/disable", key: f.key).status == 404)
        #expect(eventually(timeout: 15) {
            watcher.requests.contains { $0.json["type"] as? String == "endpoint.disabled"
                && ($0.json["data"] as? [String: Any])?["reason"] as? String == "manual"
                && ($0.json["data"] as? [String: Any])?["endpointId"] as? String == p.id }
        })

        let first = try f.started(tenant: "cust_p").event
        let second = try f.started(tenant: "cust_p").event
        #expect(eventually(timeout: 15) {
            (try? f.deliveryStatus(event: first, endpoint: p.id)) == "held" && (try? f.deliveryStatus(event: second, endpoint: p.id)) == "held"
        })

        // A bad field anywhere in a PATCH changes nothing, and names itself.
        for (body, param) in [(#"{"status":"paused"}"#, "status"), (#"{"status":null}"#, "status"), (#"{"url":null}"#, "url"),
                              (#"{"tenantIds":null,"status":"sleeping"}"#, "status"), (#"{"status":"enabled","rateLimitPerSecond":0}"#, "rateLimitPerSecond"),
                              // Tenant ids no session can have would filter out every event.
                              (#"{"tenantIds":["   "]}"#, "tenantIds"), (#"{"tenantIds":["a\u0001b"]}"#, "tenantIds")] {
            let refused = try f.api.server.send("PATCH", path, key: f.key, json: body)
            #expect(refused.status == 400 && refused.errorParam == param, "\(body): \(refused.status) \(refused.text)")
        }
        let unchanged = try f.api.server.send("GET", path, key: f.key).json
        #expect(unchanged["status"] as? String == "disabled" && unchanged["tenantIds"] as? [String] == ["cust_p"])
        #expect(receiver.requests.isEmpty, "a paused endpoint gets nothing")

        // Enabled by PATCH, as `/enable` does: the held events go out, oldest first.
        let enabled = try f.api.server.send("PATCH", path, key: f.key, json: #"{"status":"enabled"}"#)
        #expect(enabled.status == 200 && enabled.json["status"] as? String == "enabled" && enabled.json["disabledReason"] is NSNull)
        #expect(eventually(timeout: 15) { receiver.requests.count == 2 })
        #expect(Set(receiver.requests.map(\.eventID)) == [first, second])
        // The receiver has them before the worker records them.
        #expect(eventually(timeout: 10) {
            (try? f.deliveryStatus(event: first, endpoint: p.id)) == "delivered" && (try? f.deliveryStatus(event: second, endpoint: p.id)) == "delivered"
        })
        #expect(eventually(timeout: 15) { watcher.requests.contains { $0.json["type"] as? String == "endpoint.enabled" } })
        #expect(watcher.requests.filter { $0.json["type"] as? String == "endpoint.disabled" }.count == 1)

        // `null` clears a filter, as `[]` does; PATCH to disabled pauses it again.
        let cleared = try f.api.server.send("PATCH", path, key: f.key, json: #"{"tenantIds":null,"eventTypes":null,"status":"disabled"}"#)
        #expect(cleared.status == 200 && cleared.json["tenantIds"] as? [String] == [] && cleared.json["eventTypes"] as? [String] == []
                && cleared.json["status"] as? String == "disabled" && cleared.json["disabledReason"] as? String == "manual", "\(cleared.text)")
    }

    @Test func aTestEventGoesToItsEndpointOnlyWhateverItsFiltersSignedWithItsSecret() throws {
        let tested = try EventReceiver(), other = try EventReceiver()
        defer { tested.stop(); other.stop() }
        let f = try Fixture()
        defer { f.close() }
        // Filters that would take no test: the test goes anyway. The other endpoint takes everything, and gets none.
        let t = try f.endpoint(["url": tested.url, "eventTypes": ["onboarding.completed"], "tenantIds": ["cust_t"]])
        let everything = try f.endpoint(["url": other.url])
        let path = "/api/v1/event-endpoints/\(t.id)/test"
        #expect(try f.api.server.send("POST", path, key: f.key, json: #"{"type":"onboarding.completed"}"#).errorParam == "type")
        #expect(try f.api.server.send("POST", "/api/v1/event-endpoints/ep_nosuchendpoint/test", key: f.key).status == 404)

        let sent = try f.api.server.send("POST", path, key: f.key)
        let eventID = try #require(sent.json["eventId"] as? String, "\(sent.status) \(sent.text)")
        #expect(sent.status == 202 && sent.json["endpointId"] as? String == t.id)
        #expect(eventually(timeout: 15) { tested.requests.count == 1 })
        let request = try #require(tested.requests.first)
        #expect(request.eventID == eventID && request.json["type"] as? String == "endpoint.test" && request.headers["x-dualhook-event"] == "endpoint.test")
        #expect((request.json["data"] as? [String: Any])?["endpointId"] as? String == t.id)
        #expect(try OpenSSL.verifiesDualhook(header: try #require(request.headers["x-dualhook-signature"]), body: request.body, secret: t.secret))
        #expect(eventually(timeout: 5) {
            let event = (try? f.api.server.send("GET", "/api/v1/events/\(eventID)", key: f.key).json) ?? [:]
            return event["deliveryStatus"] as? String == "delivered" && (event["deliveries"] as? [[String: Any]])?.map { $0["endpointId"] as? String } == [t.id]
                && (event["attempts"] as? [[String: Any]])?.first?["statusCode"] as? Int == 200
        })
        // Sent again without naming an endpoint: still to its own endpoint only.
        let again = try f.api.server.send("POST", "/api/v1/events/\(eventID)/redeliver", key: f.key)
        #expect(again.status == 202 && again.json["endpointIds"] as? [String] == [t.id], "\(again.text)")
        #expect(eventually(timeout: 15) { tested.requests.count == 2 })
        // The other endpoint, which takes every type, never had it: no delivery, no request.
        #expect(try f.deliveryStatus(event: eventID, endpoint: everything.id) == nil)
        #expect(!other.requests.contains { $0.eventID == eventID })
        // Listed by endpoint, and by a time range that ends before or after it.
        let listed = { (query: String) -> [String] in
            ((try? f.api.server.send("GET", "/api/v1/events?\(query)", key: f.key).json["data"]) as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        }
        #expect(listed("endpointId=\(t.id)") == [eventID])
        let created = try #require(try f.api.server.send("GET", "/api/v1/events/\(eventID)", key: f.key).json["createdAt"] as? String)
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let at = try #require(iso.date(from: created))
        let shifted = { (seconds: Double) in iso.string(from: at.addingTimeInterval(seconds)) }
        #expect(!listed("until=\(shifted(-0.002))").contains(eventID))
        #expect(listed("since=\(shifted(-0.002))&until=\(shifted(0.002))") == [eventID])
        let unknown = try f.api.server.send("GET", "/api/v1/events?endpointId=ep_nosuchendpoint", key: f.key)
        #expect(unknown.status == 404 && unknown.errorParam == "endpointId")
        let empty = try f.api.server.send("GET", "/api/v1/events?endpointId=", key: f.key)
        #expect(empty.status == 400 && empty.errorParam == "endpointId")
        #expect(try f.api.server.send("GET", "/api/v1/events?until=yesterday", key: f.key).errorParam == "until")

        // A recover is for events the endpoint missed: its past tests only when asked for by type.
        let recover = { (types: String) in
            try f.api.server.send("POST", "/api/v1/event-endpoints/\(t.id)/recover", key: f.key,
                                  json: #"{"since":"2020-01-01T00:00:00Z"\#(types)}"#).json["queued"] as? Int
        }
        #expect(try recover("") == 0)
        #expect(try recover(#","types":["endpoint.test"]"#) == 1)
        #expect(eventually(timeout: 15) {
            ((try? f.api.server.send("GET", "/api/v1/events/\(eventID)", key: f.key).json["attempts"]) as? [Any])?.count == 3
        })
        #expect(tested.requests.count == 3)
        // Another account's key finds none of it.
        let stranger = try f.api.anotherAccount().apiKey
        for (method, strangerPath) in [("POST", path), ("POST", "/api/v1/event-endpoints/\(t.id)/disable"),
                                       ("GET", "/api/v1/events?endpointId=\(t.id)"), ("GET", "/api/v1/events/\(eventID)")] {
            let answer = try f.api.server.send(method, strangerPath, key: stranger)
            #expect(answer.status == 404, "\(method) \(strangerPath): \(answer.status) \(answer.text)")
        }
        #expect(try f.api.server.send("GET", "/api/v1/event-endpoints/\(t.id)", key: f.key).json["status"] as? String == "enabled")

        #expect(try f.api.server.send("POST", "/api/v1/event-endpoints/\(t.id)/disable", key: f.key).status == 200)
        let refused = try f.api.server.send("POST", path, key: f.key)
        #expect(refused.status == 409 && refused.errorCode == "conflict", "\(refused.text)")
        // The other endpoint's events: the notice of that disabling, not the test.
        #expect(eventually(timeout: 15) { other.requests.contains { $0.json["type"] as? String == "endpoint.disabled" } })
        let others = listed("endpointId=\(everything.id)")
        #expect(others.count == 1 && others.first == other.requests.first { $0.json["type"] as? String == "endpoint.disabled" }?.eventID, "\(others)")
        // Deleted, the endpoint takes its deliveries along; the attempts made stay listed and counted.
        #expect(try f.api.server.send("DELETE", "/api/v1/event-endpoints/\(t.id)", key: f.key).status == 200)
        let orphan = try f.api.server.send("GET", "/api/v1/events/\(eventID)", key: f.key).json
        #expect(orphan["deliveryStatus"] as? String == "no_endpoint" && (orphan["attempts"] as? [Any])?.count == 3
                && orphan["attemptCount"] as? Int == 3, "\(orphan)")
    }

    @Test func goneDisablesAtOnceAFiveDayOutageAfterWarningsAndEnablingSendsTheHeldEventsInOrder() throws {
        let gone = Atomic<Bool>(true), down = Atomic<Bool>(true)
        let goneReceiver = try EventReceiver { _ in gone.load(ordering: .relaxed) ? .text(410, "gone") : .text(200, "ok") }
        let failing = try EventReceiver { _ in down.load(ordering: .relaxed) ? .text(500, "down") : .text(200, "ok") }
        let watcher = try EventReceiver()
        defer { goneReceiver.stop(); failing.stop(); watcher.stop() }
        let f = try Fixture()
        defer { f.close() }
        let g = try f.endpoint(["url": goneReceiver.url, "eventTypes": ["onboarding.started"], "tenantIds": ["cust_g"]])
        let w = try f.endpoint(["url": watcher.url, "eventTypes": ["endpoint.warning", "endpoint.disabled", "endpoint.enabled"]])
        let d = try f.endpoint(["url": failing.url, "tenantIds": ["cust_d"]])
        // Without filters: it takes the notices about the others, never one about itself.
        let everything = try EventReceiver()
        defer { everything.stop() }
        let all = try f.endpoint(["url": everything.url])

        // 410: disabled at once, the event held, the watcher told.
        let toGone = try f.started(tenant: "cust_g")
        #expect(eventually(timeout: 15) { watcher.requests.contains { $0.json["type"] as? String == "endpoint.disabled" } })
        let goneEndpoint = try f.api.server.send("GET", "/api/v1/event-endpoints/\(g.id)", key: f.key).json
        #expect(goneEndpoint["status"] as? String == "disabled" && goneEndpoint["disabledReason"] as? String == "gone")
        #expect(try f.deliveryStatus(event: toGone.event, endpoint: g.id) == "held")
        #expect(goneReceiver.requests.count == 1)
        let goneNotice = try #require(watcher.requests.first { $0.json["type"] as? String == "endpoint.disabled" })
        #expect((goneNotice.json["data"] as? [String: Any])?["endpointId"] as? String == g.id)
        #expect((goneNotice.json["data"] as? [String: Any])?["reason"] as? String == "gone")
        let heldToo = try f.started(tenant: "cust_g")
        #expect(eventually(timeout: 5) { (try? f.deliveryStatus(event: heldToo.event, endpoint: g.id)) == "held" })

        // A long outage: every attempt fails. The first event's attempts run out (failed).
        let first = try f.started(tenant: "cust_d")
        let key = "deliver:\(first.event):\(d.id)"
        #expect(eventually(timeout: 60) {
            if (try? f.deliveryStatus(event: first.event, endpoint: d.id)) == "failed" { return true }
            // Each retry brought forward instead of waiting through the schedule.
            _ = try? f.api.db.with { try JobQueue.runNow(uniqueKey: key, queue: "events", on: $0) }
            return false
        }, "the first event's seven attempts all failed")
        let held = try [first.event] + (0..<3).map { _ in try f.started(tenant: "cust_d").event }
        #expect(eventually(timeout: 15) { failing.requests.count == 7 + 3 })

        try f.shiftFailures(d.id, days: 1.5)
        try f.sweep("event-endpoints", kind: "sweep.event_endpoints")
        try f.shiftFailures(d.id, days: 3.5)
        try f.sweep("event-endpoints", kind: "sweep.event_endpoints")
        try f.sweep("event-endpoints", kind: "sweep.event_endpoints")  // nothing new: each warning once
        #expect(eventually(timeout: 15) { watcher.requests.filter { $0.json["type"] as? String == "endpoint.warning" }.count == 2 })
        let warnings = watcher.requests.filter { $0.json["type"] as? String == "endpoint.warning" }
        #expect(warnings.compactMap { ($0.json["data"] as? [String: Any])?["days"] as? Int }.sorted() == [1, 3])
        #expect(try f.api.server.send("GET", "/api/v1/event-endpoints/\(d.id)", key: f.key).json["status"] as? String == "enabled")
        try f.shiftFailures(d.id, days: 5.1)
        try f.sweep("event-endpoints", kind: "sweep.event_endpoints")
        let disabled = try f.api.server.send("GET", "/api/v1/event-endpoints/\(d.id)", key: f.key).json
        #expect(disabled["status"] as? String == "disabled" && disabled["disabledReason"] as? String == "failing")
        #expect(try held.allSatisfy { try f.deliveryStatus(event: $0, endpoint: d.id) == "held" }, "nothing is lost, the failed one included")
        #expect(eventually(timeout: 15) {
            watcher.requests.contains { $0.json["type"] as? String == "endpoint.disabled" && ($0.json["data"] as? [String: Any])?["endpointId"] as? String == d.id }
        })
        Thread.sleep(forTimeInterval: 1)
        let sentBefore = failing.requests.count

        // Enabled again: the held events go out, in order of creation, once each.
        down.store(false, ordering: .relaxed)
        let enabled = try f.api.server.send("POST", "/api/v1/event-endpoints/\(d.id)/enable", key: f.key)
        #expect(enabled.status == 200 && enabled.json["status"] as? String == "enabled" && enabled.json["disabledReason"] is NSNull)
        #expect(eventually(timeout: 20) { failing.requests.count == sentBefore + held.count })
        Thread.sleep(forTimeInterval: 1)
        #expect(Array(failing.requests.suffix(from: sentBefore)).map(\.eventID) == held, "held events arrive in order of creation")
        #expect(try held.allSatisfy { try f.deliveryStatus(event: $0, endpoint: d.id) == "delivered" })
        #expect(eventually(timeout: 15) {
            watcher.requests.contains { $0.json["type"] as? String == "endpoint.enabled" && ($0.json["data"] as? [String: Any])?["endpointId"] as? String == d.id }
        })
        gone.store(false, ordering: .relaxed)
        #expect(try f.api.server.send("POST", "/api/v1/event-endpoints/\(g.id)/enable", key: f.key).status == 200)
        #expect(eventually(timeout: 20) { goneReceiver.requests.count == 3 })
        #expect(goneReceiver.requests.suffix(2).map(\.eventID) == [toGone.event, heldToo.event])
        // Those successes show in its health at once, though it never had one and was enabled a moment ago.
        #expect(eventually(timeout: 10) {
            let health = (try? f.api.server.send("GET", "/api/v1/event-endpoints/\(g.id)", key: f.key).json["health"]) as? [String: Any]
            return health?["lastSuccessAt"] is String && health?["status"] as? String == "healthy"
        })
        // Notices go to the other endpoints whose filters take them, never to the one they are about.
        #expect(watcher.requests.allSatisfy { ($0.json["type"] as? String)?.hasPrefix("endpoint.") == true })
        func notices(_ receiver: EventReceiver) -> [(type: String, about: String)] {
            receiver.requests.compactMap { request in
                guard let type = request.json["type"] as? String, type.hasPrefix("endpoint.") else { return nil }
                return (type, (request.json["data"] as? [String: Any])?["endpointId"] as? String ?? "")
            }
        }
        #expect(eventually(timeout: 10) { notices(everything).filter { $0.type == "endpoint.enabled" }.count == 2 })
        #expect(Set(notices(everything).map(\.about)) == [g.id, d.id] && Set(notices(watcher).map(\.about)) == [g.id, d.id])
        #expect(notices(everything).filter { $0.type == "endpoint.warning" }.count == 2)
        #expect(!notices(everything).contains { $0.about == all.id } && !notices(watcher).contains { $0.about == w.id })
        #expect(goneReceiver.requests.allSatisfy { ($0.json["type"] as? String)?.hasPrefix("endpoint.") == false })
    }

    /// After an outage, a recover of what the endpoint missed: only the events not yet delivered
    /// to it, brought forward from their retry schedule.
    @Test func aRecoverOfTheUndeliveredSendsOnlyWhatFailed() throws {
        // The first two deliveries fail (retried in a minute); everything after is taken.
        let receiver = try EventReceiver { n in n < 2 ? .text(500, "down") : .text(200, "ok") }
        defer { receiver.stop() }
        let f = try Fixture()
        defer { f.close() }
        let u = try f.endpoint(["url": receiver.url, "eventTypes": ["onboarding.started"]])
        let since = Date().addingTimeInterval(-1)
        let missed = try f.started(tenant: "cust_u").event
        #expect(eventually(timeout: 15) { receiver.requests.count == 1 })
        let missedToo = try f.started(tenant: "cust_u").event
        #expect(eventually(timeout: 15) { receiver.requests.count == 2 })
        let delivered = try f.started(tenant: "cust_u").event
        #expect(eventually(timeout: 15) { (try? f.deliveryStatus(event: delivered, endpoint: u.id)) == "delivered" })
        #expect(try f.deliveryStatus(event: missed, endpoint: u.id) == "pending" && f.deliveryStatus(event: missedToo, endpoint: u.id) == "pending")

        let path = "/api/v1/event-endpoints/\(u.id)/recover"
        #expect(try f.api.server.send("POST", path, key: f.key, json: #"{"since":"\#(rfc3339(since))","onlyUndelivered":"yes"}"#)
            .errorParam == "onlyUndelivered")
        let recovered = try f.api.server.send("POST", path, key: f.key, json: #"{"since":"\#(rfc3339(since))","onlyUndelivered":true}"#)
        #expect(recovered.status == 202 && recovered.json["queued"] as? Int == 2, "\(recovered.text)")
        // Now, not in a minute: both delivered, the delivered one not sent again.
        #expect(eventually(timeout: 15) {
            (try? f.deliveryStatus(event: missed, endpoint: u.id)) == "delivered" && (try? f.deliveryStatus(event: missedToo, endpoint: u.id)) == "delivered"
        })
        Thread.sleep(forTimeInterval: 1)
        #expect(receiver.requests.filter { $0.eventID == delivered }.count == 1)
        #expect(receiver.requests.count == 5, "\(receiver.requests.map(\.eventID))")
        #expect(try f.api.server.send("POST", path, key: f.key, json: #"{"since":"\#(rfc3339(since))","onlyUndelivered":true}"#)
            .json["queued"] as? Int == 0)
    }

    @Test func recoverRedeliversExactlyTheEventsOfTheRangeOnceEachAndOldEventsArePruned() throws {
        let receiver = try EventReceiver()
        defer { receiver.stop() }
        let f = try Fixture()
        defer { f.close() }
        let r = try f.endpoint(["url": receiver.url, "eventTypes": ["onboarding.started"]])
        let before = try (0..<2).map { _ in try f.started(tenant: "cust_r").event }
        Thread.sleep(forTimeInterval: 0.3)
        let since = Date()
        let inside = try (0..<3).map { _ in try f.started(tenant: "cust_r").event }
        Thread.sleep(forTimeInterval: 0.3)
        let until = Date()
        let after = try f.started(tenant: "cust_r").event
        #expect(eventually(timeout: 15) { receiver.requests.count == 6 })

        let bad = try f.api.server.send("POST", "/api/v1/event-endpoints/\(r.id)/recover", key: f.key, json: #"{"since":"yesterday"}"#)
        #expect(bad.status == 400 && bad.errorParam == "since")
        let types = try f.api.server.send("POST", "/api/v1/event-endpoints/\(r.id)/recover", key: f.key,
                                          json: #"{"since":"\#(rfc3339(since))","types":["no.such"]}"#)
        #expect(types.errorParam == "types")
        let recovered = try f.api.server.send("POST", "/api/v1/event-endpoints/\(r.id)/recover", key: f.key,
                                              json: #"{"since":"\#(rfc3339(since))","until":"\#(rfc3339(until))"}"#)
        #expect(recovered.status == 202 && recovered.json["queued"] as? Int == 3)
        #expect(eventually(timeout: 15) { receiver.requests.count == 9 })
        Thread.sleep(forTimeInterval: 1.5)
        var counts: [String: Int] = [:]
        for request in receiver.requests { counts[request.eventID, default: 0] += 1 }
        #expect(receiver.requests.count == 9, "\(receiver.requests.map(\.eventID)) before \(before) inside \(inside) after \(after)")
        #expect(inside.allSatisfy { counts[$0] == 2 } && (before + [after]).allSatisfy { counts[$0] == 1 })
        #expect(Array(receiver.requests.suffix(3)).map(\.eventID) == inside, "recovered in order of creation")

        // Events past the retention (30 days by default) are pruned with their deliveries; so are
        // attempts, of an event still kept too.
        try f.api.db.with { try $0.sql("UPDATE events SET created_at = now() - interval '31 days' WHERE id = \(before[0])") }
        try f.api.db.with {
            try $0.sql("UPDATE event_attempts SET attempted_at = now() - interval '31 days' WHERE event_id = \(after)")
        }
        try f.sweep("prune-events", kind: "sweep.prune_events")
        #expect(try f.api.server.send("GET", "/api/v1/events/\(before[0])", key: f.key).status == 404)
        #expect(try f.api.server.send("GET", "/api/v1/events/\(before[1])", key: f.key).status == 200)
        #expect(try f.deliveryStatus(event: before[0], endpoint: r.id) == nil)
        let kept = try f.api.server.send("GET", "/api/v1/events/\(after)", key: f.key).json
        #expect(kept["id"] as? String == after && (kept["attempts"] as? [Any])?.isEmpty == true)
        #expect((try f.api.server.send("GET", "/api/v1/events/\(inside[0])", key: f.key).json["attempts"] as? [Any])?.count == 2)
    }

    @Test func threeWorkerProcessesKeepOneAccountWithinItsSlotsAndASlowEndpointHoldsOnlyItsOwn() throws {
        let inFlight = Atomic<Int>(0), most = Atomic<Int>(0), slowInFlight = Atomic<Int>(0), slowMost = Atomic<Int>(0)
        let slow = try EventReceiver(threads: 12) { _ in
            _ = most.max(inFlight.add(1, ordering: .relaxed).newValue, ordering: .relaxed)
            _ = slowMost.max(slowInFlight.add(1, ordering: .relaxed).newValue, ordering: .relaxed)
            Thread.sleep(forTimeInterval: 0.8)
            slowInFlight.subtract(1, ordering: .relaxed)
            inFlight.subtract(1, ordering: .relaxed)
            return .text(200, "ok")
        }
        let fast = try EventReceiver(threads: 12) { _ in
            _ = most.max(inFlight.add(1, ordering: .relaxed).newValue, ordering: .relaxed)
            Thread.sleep(forTimeInterval: 0.01)
            inFlight.subtract(1, ordering: .relaxed)
            return .text(200, "ok")
        }
        defer { slow.stop(); fast.stop() }
        let f = try Fixture(workers: 3, queues: "events:8", slotsPerAccount: 2)
        defer { f.close() }
        // One endpoint: it may use both of the account's slots, and no more, across three workers.
        _ = try f.endpoint(["url": slow.url, "tenantIds": ["cust_slow"]])
        let slowEvents = try (0..<16).map { _ in try f.started(tenant: "cust_slow").event }
        #expect(eventually(timeout: 15) { slow.requests.count >= 4 })
        #expect(slowMost.load(ordering: .relaxed) == 2, "the account's 2 slots were used and never more (saw \(slowMost.load(ordering: .relaxed)))")
        // A second endpoint: the slow one keeps a slot free for it, so its events do not wait for the backlog.
        _ = try f.endpoint(["url": fast.url, "tenantIds": ["cust_fast"]])
        let started = Date()
        let fastEvents = try (0..<4).map { _ in try f.started(tenant: "cust_fast").event }
        #expect(eventually(timeout: 10) { Set(fast.requests.map(\.eventID)) == Set(fastEvents) })
        let elapsed = Date().timeIntervalSince(started)
        #expect(slow.requests.count < 16, "the fast endpoint's events (\(elapsed) s) went out while the slow one still had a backlog")
        #expect(eventually(timeout: 60) { Set(slow.requests.map(\.eventID)) == Set(slowEvents) })
        #expect(most.load(ordering: .relaxed) <= 2, "at most 2 of the account's deliveries in flight across 3 workers (saw \(most.load(ordering: .relaxed)))")
        #expect(slow.requests.count == 16 && fast.requests.count == 4)
        // Slots kept between deliveries are given back once idle, the workers still running.
        #expect(eventually(timeout: 5) {
            (try? f.api.db.with { try $0.sql("SELECT count(*) FROM event_slots WHERE job_id IS NOT NULL").scalar(Int.self) }) == 0
        })
    }

    @Test func anEndpointsRateLimitSpreadsItsDeliveries() throws {
        let receiver = try EventReceiver()
        defer { receiver.stop() }
        let f = try Fixture(queues: "events:8")
        defer { f.close() }
        _ = try f.endpoint(["url": receiver.url, "rateLimitPerSecond": 2])
        let events = try (0..<8).map { _ in try f.started(tenant: "cust_rate").event }
        #expect(eventually(timeout: 30) { Set(receiver.requests.map(\.eventID)) == Set(events) })
        // Eight starts at two per clock second need four distinct seconds: more than 2 s apart.
        let times = receiver.requests.map(\.at)
        let span = (times.max() ?? .distantPast).timeIntervalSince(times.min() ?? .distantPast)
        #expect(span > 2, "8 deliveries at 2 per second spread over \(span) s")
        #expect(receiver.requests.count == 8)
    }
}

/// RFC 3339 with milliseconds, as the API reads it.
func rfc3339(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: date)
}
