import Foundation
import Postgres
import TestSupport
import Testing

/// The front's wake-ups and configuration: a job its request enqueued starts at once although
/// the request's transaction sends no NOTIFY, and production refuses to start without Meta's
/// settings.
@Suite(.serialized) struct FrontTests {
    @Test func aJobEnqueuedByARequestStartsWithinTheWakeUpBound() throws {
        let endpoint = try LoopbackServer.handshakeReceiver(token: "s3cret")
        defer { endpoint.stop() }
        let f = try APIFixture(environment: ["DUALHOOK_ALLOW_PRIVATE_TARGETS": "1"])
        defer { f.close() }
        // A worker that polls only every 60 s: only a wake-up can start the job sooner.
        let worker = try DualhookProcess(["work", "--queues", "meta:2", "--poll-interval", "60"], databaseURL: f.db.url,
                                         environment: ["DUALHOOK_ALLOW_PRIVATE_TARGETS": "1"], label: "slow-poll-worker")
        defer { worker.stop() }
        #expect(eventually(timeout: 10) { worker.log.contains("worker started") })
        Thread.sleep(forTimeInterval: 0.5)  // its LISTEN is in place
        var waits: [TimeInterval] = []
        for _ in 0..<5 {
            let created = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                            json: sessionBody(["webhookOverrideUrl": endpoint.base + "/whatsapp"]))
            #expect(created.status == 201, "\(created.text)")
            let id = created.json["sessionId"] as? String ?? ""
            #expect(eventually(timeout: 10) {
                (try? f.db.with { try $0.sql("SELECT webhook_check FROM onboarding_sessions WHERE id = \(id)").scalar(String.self) })
                    == "passed"
            })
            let wait = try f.db.with { try $0.sql("""
                SELECT extract(epoch FROM attempted_at - created_at) FROM jobs
                WHERE kind = 'onboarding.webhook_check' AND args->>'sessionId' = \(id)
                """).scalar(Double.self) }
            waits.append(try #require(wait))
        }
        // Generous for a loaded 2-core machine, and far below the 60 s poll.
        #expect(waits.allSatisfy { $0 < 2 }, "enqueue → start: \(waits)")
    }

    /// One logfmt access line per request: the route's pattern (not the path, which can carry
    /// a token), the status, the duration and the caller.
    @Test func eachRequestWritesOneAccessLine() throws {
        let f = try APIFixture()
        defer { f.close() }
        let session = try f.server.send("GET", "/api/v1/onboarding/sessions/ses_missing", key: f.account.apiKey)
        #expect(session.status == 404)
        let refused = try f.server.send("POST", "/meta/webhook", headers: ["Content-Type": "application/json"], body: Data("{}".utf8))
        #expect(refused.status == 401)
        let lines = { f.server.process.log.split(separator: "\n").filter { $0.contains("logger=access") }.map(String.init) }
        #expect(eventually(timeout: 5) { lines().count >= 2 })
        let pattern = #"^ts=\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z level=info logger=access msg=request method=(GET|POST) "#
            + #"route="[A-Z]+ [^"]+" status=\d{3} duration_ms=\d+\.\d{2} request_id=req_[0-9a-f]+ account_id=(acc_\w+|-)$"#
        let shaped = try Regex(pattern)
        #expect(lines().allSatisfy { $0.wholeMatch(of: shaped) != nil }, "\(lines())")
        #expect(lines().contains { $0.contains(#"route="GET /api/v1/onboarding/sessions/{id}" status=404"#) && $0.hasSuffix("account_id=\(f.account.accountId)") })
        #expect(lines().contains { $0.contains(#"route="POST /meta/webhook" status=401"#) && $0.hasSuffix("account_id=-") })
        #expect(!f.server.process.log.contains("ses_missing"))
    }

    /// A form value holding U+0000 (no field check of its own refuses it) is answered 400,
    /// not looked up cut at the NUL, and not a 500.
    @Test func aFormValueHoldingNULIsRefusedAs400() throws {
        let f = try APIFixture()
        defer { f.close() }
        let page = try f.server.send("GET", "/dashboard/login")
        let cookie = try #require(page.header("Set-Cookie")?.split(separator: ";").first.map(String.init))
        let token = try #require(page.text.firstMatch(of: #/name="csrfToken" value="([^"]+)"/#)?.1)
        let answer = try f.server.send("POST", "/dashboard/login",
                                       headers: ["Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie],
                                       body: Data("email=owner%00%40acme.test&password=x&csrfToken=\(token)".utf8))
        #expect(answer.status == 400, "\(answer.status)")
        #expect(answer.text.contains("NUL character (U+0000)"))
    }

    @Test func aPathOrQueryValueHoldingNULIsRefusedAs400() throws {
        let f = try APIFixture()
        defer { f.close() }
        for path in ["/api/v1/connections/con_a%00b", "/api/v1/connections?tenantId=cust%0042"] {
            let answer = try f.server.send("GET", path, key: f.account.apiKey)
            #expect(answer.status == 400, "\(path): \(answer.status)")
            #expect(answer.text.contains("NUL character (U+0000)"), "\(path)")
        }
        // An encoded slash stays inside its segment: an unknown connection, not an unknown route.
        let slash = try f.server.send("GET", "/api/v1/connections/con_a%2Fb", key: f.account.apiKey)
        #expect(slash.status == 404)
        #expect(slash.text.contains("connection con_a/b not found"), "\(slash.text)")
    }

    @Test func productionServeAndWorkRefuseToStartWithoutMetasSettings() throws {
        let db = try TestDatabase(label: "config")
        defer { db.drop() }
        let production = ["DUALHOOK_ENV": "production", "META_APP_ID": "42", "META_APP_SECRET": "", "META_CONFIG_ID": "cfg",
                          "META_WEBHOOK_VERIFY_TOKEN": "vt"]
        for command in [["serve", "--listen", "127.0.0.1:0"], ["work"]] {
            let refused = try DualhookProcess.run(command, databaseURL: db.url, environment: production, timeout: 20)
            #expect(refused.status == 2, "\(command[0]): \(refused.output)")
            #expect(refused.output.contains("META_APP_SECRET is not set"))
            #expect(refused.output.split(separator: "\n").count == 1, "one line")
        }
        // Development: the development values stand in, and it runs.
        var development = production
        development["DUALHOOK_ENV"] = "development"
        let port = Int.random(in: 30_000...31_999)
        let serve = try DualhookProcess(["serve", "--listen", "127.0.0.1:\(port)"], databaseURL: db.url, environment: development)
        defer { serve.stop() }
        #expect(eventually(timeout: 10) { serve.log.contains("listening") }, "\(serve.log)")
        #expect(serve.isRunning)
    }
}
