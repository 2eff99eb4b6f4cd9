import Foundation
import JobQueue
import Postgres
import TestSupport
import Testing

@Suite(.serialized) struct AuthAndRoutingTests {
    @Test func keysAuthenticateAndAccountsNeverSeeEachOther() throws {
        let f = try APIFixture()
        defer { f.close() }
        #expect(try f.server.send("GET", "/api/v1/onboarding/sessions").status == 401)
        let unknown = try f.server.send("GET", "/api/v1/onboarding/sessions", key: "dh_live_" + String(repeating: "x", count: 32))
        #expect(unknown.status == 401 && unknown.errorCode == "unauthorized")
        #expect(unknown.header("WWW-Authenticate") == "Bearer", "RFC 6750: a 401 names the scheme")
        #expect(try f.server.send("GET", "/api/v1/account", headers: ["Authorization": "Basic abc"]).status == 401)

        let created = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, json: sessionBody())
        #expect(created.status == 201)
        let id = created.json["sessionId"] as! String
        let read = try f.server.send("GET", "/api/v1/onboarding/sessions/\(id)", key: f.account.apiKey)
        #expect(read.status == 200)
        // What it was created with reads back, the verify token aside.
        #expect(read.json["webhookOverrideUrl"] as? String == "https://api.example.com/whatsapp")
        #expect(read.json["successRedirectUrl"] as? String == "https://app.example.com/done"
                && read.json["failureRedirectUrl"] as? String == "https://app.example.com/error"
                && read.json["cancelRedirectUrl"] as? String == "https://app.example.com/cancel")
        #expect(read.json["coexistence"] as? Bool == false && read.json["webhookScope"] as? String == "waba")
        #expect(!read.text.contains("s3cret"))

        let other = try f.anotherAccount()
        let foreign = try f.server.send("GET", "/api/v1/onboarding/sessions/\(id)", key: other.apiKey)
        #expect(foreign.status == 404 && foreign.errorCode == "not_found")
        let list = try f.server.send("GET", "/api/v1/onboarding/sessions", key: other.apiKey)
        #expect((list.json["data"] as? [Any])?.isEmpty == true)

        // A revoked key stops working at once.
        try f.db.with { try $0.sql("UPDATE api_keys SET revoked_at = now() WHERE account_id = \(f.account.accountId)") }
        #expect(try f.server.send("GET", "/api/v1/onboarding/sessions/\(id)", key: f.account.apiKey).status == 401)
    }

    @Test func everyResponseCarriesARequestIdAndErrorsTheirEnvelope() throws {
        let f = try APIFixture()
        defer { f.close() }
        let missing = try f.server.send("GET", "/api/v1/nope")
        #expect(missing.status == 404 && missing.errorCode == "not_found")
        #expect(missing.header("Request-Id")?.hasPrefix("req_") == true)
        #expect(((missing.json["error"] as? [String: Any])?["requestId"] as? String) == missing.header("Request-Id"))

        // A path parameter whose escapes are not UTF-8 names itself; it is not looked up as typed.
        let malformed = try f.server.send("GET", "/api/v1/connections/con_%FF", key: f.account.apiKey)
        #expect(malformed.status == 400 && malformed.errorCode == "validation_failed" && malformed.errorParam == "id")
        #expect(malformed.header("X-RateLimit-Limit") != nil)
        // The route's own steps still come first: no key is still 401. The onboarding page, which
        // people reach through links that mail clients can mangle, says the link does not exist.
        #expect(try f.server.send("GET", "/api/v1/connections/con_%FF").status == 401)
        let page = try f.server.send("GET", "/onboard/%FF")
        #expect(page.status == 404 && page.header("Content-Type")?.hasPrefix("text/html") == true, "\(page.status) \(page.text)")
        #expect(page.text.contains("This link does not exist"))
        #expect(try f.server.send("POST", "/onboard/%FF/open").errorParam == "token")

        let wrongMethod = try f.server.send("DELETE", "/api/v1/account", key: f.account.apiKey)
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("Allow") == "GET, PATCH")

        let health = try f.server.send("GET", "/healthz")
        #expect(health.status == 200 && health.header("Request-Id") != nil)
        #expect(try f.server.send("GET", "/readyz").status == 200)
        // One session: its webhook check waits on the meta queue (no worker runs here).
        #expect(try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey, json: sessionBody()).status == 201)
        // Only for the scraper holding DUALHOOK_METRICS_TOKEN.
        #expect(try f.server.send("GET", "/metrics").status == 401)
        #expect(try f.server.send("GET", "/metrics", key: "wrong-token").status == 401)
        let metrics = try f.server.send("GET", "/metrics", key: APIServer.metricsToken)
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("dualhook_http_requests_total{route=\"GET /healthz\",method=\"GET\",status=\"200\"} 1"))
        #expect(metrics.text.contains("dualhook_http_request_duration_seconds_bucket"))
        #expect(metrics.text.contains("dualhook_jobs{queue=\"meta\",state=\"available\"} 1"), "\(metrics.text)")
        #expect(metrics.text.contains("dualhook_queue_paused{queue=\"meta\"} 0"))
        #expect(metrics.text.contains("dualhook_database_up 1"))

        // A retry waiting for its time is `scheduled`, not due work; a paused queue says so.
        try f.db.with { connection throws in
            try JobQueue.enqueueRaw(kind: "diag.noop", queue: "meta", argsJSON: "{}", options: JobOptions(delay: 3600), on: connection)
            try JobAdmin.pause(queue: "meta", by: "test", on: connection)
        }
        let later = try f.server.send("GET", "/metrics", key: APIServer.metricsToken).text
        #expect(later.contains("dualhook_jobs{queue=\"meta\",state=\"available\"} 1") && later.contains("dualhook_jobs{queue=\"meta\",state=\"scheduled\"} 1"),
                "\(later)")
        #expect(later.contains("dualhook_queue_paused{queue=\"meta\"} 1"))
    }

    @Test func accountSettingsAndSigningSecretRotation() throws {
        let f = try APIFixture()
        defer { f.close() }
        let patched = try f.server.send("PATCH", "/api/v1/account", key: f.account.apiKey,
                                        json: #"{"displayName":"Acme Care","redirectOrigins":["https://app.acme.test:8443"]}"#)
        #expect(patched.status == 200)
        #expect(patched.json["displayName"] as? String == "Acme Care")
        #expect(patched.json["redirectOrigins"] as? [String] == ["https://app.acme.test:8443"])
        let bad = try f.server.send("PATCH", "/api/v1/account", key: f.account.apiKey, json: #"{"eventUrl":"ftp://x"}"#)
        #expect(bad.status == 400 && bad.errorParam == "eventUrl")

        let rotated = try f.server.send("POST", "/api/v1/account/signing-secret/rotate", key: f.account.apiKey)
        #expect(rotated.status == 200)
        let secret = rotated.json["eventSigningSecret"] as? String
        #expect(secret?.hasPrefix("whsec_") == true && secret != f.account.eventSigningSecret)
        try f.db.with { connection throws in
            let live = try connection.sql("""
                SELECT sealed_secret, extract(epoch FROM expires_at - now())::float8 FROM account_signing_secrets
                WHERE account_id = \(f.account.accountId) AND (expires_at IS NULL OR expires_at > now()) ORDER BY id
                """).rows
            #expect(live.count == 2, "the old secret keeps signing during the overlap")
            let ad = "account:\(f.account.accountId):signing_secret"
            let stored = try live.map { try $0.decode(String.self, at: 0) }
            #expect(stored.allSatisfy { $0.hasPrefix("v1:") && !$0.contains("whsec_") }, "secrets are sealed at rest")
            #expect(try TestEnvironment.vault.openText(stored[0], associatedData: ad) == f.account.eventSigningSecret)
            #expect(abs(try live[0].decode(Double.self, at: 1) - 86_400) < 60)
            #expect(try TestEnvironment.vault.openText(stored[1], associatedData: ad) == secret)
        }
    }

    @Test func metricsAreOffWithoutTheirToken() throws {
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        let server = try APIServer(databaseURL: db.url, environment: ["DUALHOOK_METRICS_TOKEN": ""])
        defer { server.stop() }
        let off = try server.send("GET", "/metrics", key: APIServer.metricsToken)
        #expect(off.status == 404 && off.errorCode == "not_found" && off.text.contains("DUALHOOK_METRICS_TOKEN"))
    }
}
