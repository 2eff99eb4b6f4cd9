import Crypto
import Foundation
import Postgres
import TestSupport
import Testing

/// Connections after onboarding, over real HTTP with the fake Meta and a real worker.
@Suite(.serialized) struct ConnectionTests {
    struct Onboarded {
        let connectionID: String
        let waba: String
        let phone: String
    }

    /// A whole onboarding through the fake Meta; a known `waba` adds a number to it.
    func onboard(_ f: OnboardingFixture, tenant: String, waba: String? = nil) throws -> Onboarded {
        let link = try f.link(tenant: tenant)
        let signup = try f.meta.signup(wabaID: waba)
        try f.complete(link, code: signup["code"]!, waba: signup["wabaId"]!, phone: signup["phoneNumberId"]!)
        let session = try f.finished(link)
        guard let id = session["connectionId"] as? String else { throw SpawnError(message: "not onboarded: \(session)") }
        return Onboarded(connectionID: id, waba: signup["wabaId"]!, phone: signup["phoneNumberId"]!)
    }

    func ids(_ result: HTTPResult) -> [String] {
        (result.json["data"] as? [[String: Any]] ?? []).compactMap { $0["connectionId"] as? String }
    }

    func webhookUpdate(_ f: OnboardingFixture, _ waba: String) throws -> (status: String, version: Int, applied: Int?)? {
        try f.db.with { try $0.sql("SELECT status, version, applied_version FROM webhook_updates WHERE waba_id = \(waba)").first }
            .map { (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 1), try $0.decode(Int?.self, at: 2)) }
    }

    func verifyToken(_ f: OnboardingFixture, _ id: String) throws -> String? {
        guard let sealed = try f.connection(id)?.decode(String.self, "webhook_verify_token") else { return nil }
        return try TestEnvironment.vault.openText(sealed, associatedData: "connection:\(id):verify_token")
    }

    @Test func listsFilterAndPageAndAnotherAccountSeesNothing() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let a1 = try onboard(f, tenant: "cust_a")
        let a2 = try onboard(f, tenant: "cust_a", waba: a1.waba)
        let b1 = try onboard(f, tenant: "cust_b")
        let key = f.key
        func list(_ query: String) throws -> HTTPResult { try f.server.send("GET", "/api/v1/connections\(query)", key: key) }

        #expect(ids(try list("")) == [b1.connectionID, a2.connectionID, a1.connectionID])
        #expect(ids(try list("?tenantId=cust_a")) == [a2.connectionID, a1.connectionID])
        #expect(ids(try list("?wabaId=\(b1.waba)")) == [b1.connectionID])
        #expect(ids(try list("?phoneNumberId=\(a2.phone)")) == [a2.connectionID])
        #expect(ids(try list("?status=disconnected")).isEmpty)
        #expect(try list("?status=gone").errorParam == "status")
        var walked: [String] = []
        var cursor: String?
        repeat {
            let page = try list("?limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""))
            walked += ids(page)
            cursor = page.json["nextCursor"] as? String
        } while cursor != nil
        #expect(walked == [b1.connectionID, a2.connectionID, a1.connectionID])

        let one = try f.server.send("GET", "/api/v1/connections/\(a1.connectionID)", key: key)
        #expect(one.json["connectionMode"] as? String == "cloud_api" && one.json["webhookOverrideUrl"] as? String == f.hookURL)
        #expect((one.json["heartbeat"] as? [String: Any])?["applies"] as? Bool == false)
        let tenants = try f.server.send("GET", "/api/v1/tenants", key: key)
        #expect((tenants.json["data"] as? [[String: Any]])?.compactMap { $0["tenantId"] as? String }.sorted() == ["cust_a", "cust_b"])
        let tenant = try f.server.send("GET", "/api/v1/tenants/cust_a", key: key)
        #expect((tenant.json["connections"] as? [[String: Any]])?.count == 2 && tenant.json["activeConnections"] as? Int == 2)
        for text in [try list("").text, one.text, tenant.text] {
            #expect(!text.contains("EAAG") && !text.contains("s3cret") && !text.contains("access_token") && !text.contains("v1:"))
        }

        let other = try f.api.anotherAccount()
        let path = "/api/v1/connections/\(a1.connectionID)"
        #expect(try f.server.send("GET", path, key: other.apiKey).status == 404)
        #expect(try f.server.send("PATCH", path, key: other.apiKey, json: #"{"webhookOverrideUrl":"https://x.test/h","webhookVerifyToken":"t"}"#).status == 404)
        #expect(try f.server.send("DELETE", path, key: other.apiKey).status == 404)
        #expect(try f.server.send("POST", path + "/reveal-secrets", key: other.apiKey, json: #"{"secretTypes":["access_token"]}"#).status == 404)
        #expect(try f.server.send("GET", "/api/v1/tenants/cust_a", key: other.apiKey).status == 404)
        #expect(ids(try f.server.send("GET", "/api/v1/connections", key: other.apiKey)).isEmpty)
        #expect(try f.connection(a1.connectionID)?.decode(String.self, "status") == "active", "nothing changed")
    }

    @Test func aPatchReachesMetaAndEverySiblingARefusalChangesNothingAndRacesConverge() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let first = try onboard(f, tenant: "cust_a")
        let sibling = try onboard(f, tenant: "cust_a", waba: first.waba)
        let next = try LoopbackServer.handshakeReceiver(token: "next-token")
        defer { next.stop() }
        func patch(_ id: String, _ url: String, _ token: String) throws -> HTTPResult {
            try f.server.send("PATCH", "/api/v1/connections/\(id)", key: f.key,
                              json: #"{"webhookOverrideUrl":"\#(url)","webhookVerifyToken":"\#(token)"}"#)
        }
        // Meta throttles the first try: the change waits for Meta's window, its attempt not spent.
        try f.meta.fault("POST /v25.0/\(first.waba)/subscribed_apps", preset: "waba_rate_limit", times: 1)
        #expect(try patch(first.connectionID, next.base + "/a", "next-token").status == 202)
        #expect(eventually(timeout: 45) { (try? webhookUpdate(f, first.waba))?.status == "applied" })
        #expect(try f.db.with { try $0.sql("SELECT max(attempt) FROM jobs WHERE kind = 'connections.update_webhook'").scalar(Int.self) } == 1)
        #expect(try f.meta.waba(first.waba)?["overrideCallbackUri"] as? String == next.base + "/a")
        #expect(try f.meta.waba(first.waba)?["overrideVerifyToken"] as? String == "next-token")
        for id in [first.connectionID, sibling.connectionID] {
            #expect(try f.connection(id)?.decode(String.self, "webhook_override_url") == next.base + "/a")
            #expect(try verifyToken(f, id) == "next-token")
        }

        // Meta refuses (the endpoint does not answer the challenge for this token): nothing changes.
        #expect(try patch(sibling.connectionID, next.base + "/b", "wrong-token").status == 202)
        #expect(eventually(timeout: 20) { (try? webhookUpdate(f, first.waba))?.status == "failed" })
        let shown = try f.server.send("GET", "/api/v1/connections/\(sibling.connectionID)", key: f.key).json
        let update = shown["webhookUpdate"] as? [String: Any]
        #expect(update?["status"] as? String == "failed" && (update?["error"] as? String)?.contains("2200") == true)
        #expect(shown["webhookOverrideUrl"] as? String == next.base + "/a")
        #expect(try f.meta.waba(first.waba)?["overrideCallbackUri"] as? String == next.base + "/a")
        #expect(try verifyToken(f, sibling.connectionID) == "next-token")

        // Two PATCHes racing on the two siblings: all end on the later one.
        #expect(try patch(first.connectionID, next.base + "/c", "next-token").status == 202)
        #expect(try patch(sibling.connectionID, next.base + "/d", "next-token").status == 202)
        #expect(eventually(timeout: 30) {
            guard let state = try? webhookUpdate(f, first.waba) else { return false }
            return state.status == "applied" && state.applied == state.version
        })
        #expect(try f.meta.waba(first.waba)?["overrideCallbackUri"] as? String == next.base + "/d")
        for id in [first.connectionID, sibling.connectionID] {
            #expect(try f.connection(id)?.decode(String.self, "webhook_override_url") == next.base + "/d")
        }
        let bad = try patch(first.connectionID, "ftp://nope", "t")
        #expect(bad.status == 400 && bad.errorParam == "webhookOverrideUrl")

        // Only the URL: the connection's verify token goes with it to Meta.
        #expect(try f.server.send("PATCH", "/api/v1/connections/\(first.connectionID)", key: f.key,
                                  json: #"{"webhookOverrideUrl":"\#(next.base)/e"}"#).status == 202)
        #expect(eventually(timeout: 30) {
            guard let state = try? webhookUpdate(f, first.waba) else { return false }
            return state.status == "applied" && state.applied == state.version
        })
        #expect(try f.meta.waba(first.waba)?["overrideCallbackUri"] as? String == next.base + "/e")
        #expect(try f.meta.waba(first.waba)?["overrideVerifyToken"] as? String == "next-token")
        let empty = try f.server.send("PATCH", "/api/v1/connections/\(first.connectionID)", key: f.key, json: "{}")
        #expect(empty.status == 400 && empty.errorParam == "webhookOverrideUrl" && empty.text.contains("webhookVerifyToken"))

        // A URL still waiting for Meta, then only a token: the token goes with the waiting URL,
        // not with the URL Meta shows now.
        let third = try LoopbackServer.handshakeReceiver(token: "third-token")
        defer { third.stop() }
        #expect(try DualhookProcess.run(["jobs", "pause", "meta"], databaseURL: f.db.url).status == 0)
        #expect(try f.server.send("PATCH", "/api/v1/connections/\(first.connectionID)", key: f.key,
                                  json: #"{"webhookOverrideUrl":"\#(third.base)/f"}"#).status == 202)
        #expect(try f.server.send("PATCH", "/api/v1/connections/\(sibling.connectionID)", key: f.key,
                                  json: #"{"webhookVerifyToken":"third-token"}"#).status == 202)
        #expect(try DualhookProcess.run(["jobs", "resume", "meta"], databaseURL: f.db.url).status == 0)
        #expect(eventually(timeout: 30) {
            guard let state = try? webhookUpdate(f, first.waba) else { return false }
            return state.status == "applied" && state.applied == state.version
        })
        #expect(try f.meta.waba(first.waba)?["overrideCallbackUri"] as? String == third.base + "/f")
        #expect(try f.meta.waba(first.waba)?["overrideVerifyToken"] as? String == "third-token")
    }

    /// A signup with the WABA's override leaves a sibling that has its own number's override
    /// as it is, at Meta and here (Meta routes that number by its own override).
    @Test func aWABAScopedSignupLeavesANumberScopedSiblingItsOwnURL() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let own = try f.link(["webhookScope": "phone_number"], tenant: "cust_a")
        let ownSignup = try f.meta.signup()
        try f.complete(own, code: ownSignup["code"]!, waba: ownSignup["wabaId"]!, phone: ownSignup["phoneNumberId"]!)
        let ownID = try #require(try f.finished(own)["connectionId"] as? String)
        let tokenBefore = try verifyToken(f, ownID)
        let next = try LoopbackServer.handshakeReceiver(token: "next-token")
        defer { next.stop() }
        let signedUpAt = try #require(try f.db.with { try $0.sql("SELECT now()::text").scalar(String.self) })
        let wide = try f.link(["webhookOverrideUrl": next.base + "/waba", "webhookVerifyToken": "next-token"], tenant: "cust_a")
        let wideSignup = try f.meta.signup(wabaID: ownSignup["wabaId"]!)
        try f.complete(wide, code: wideSignup["code"]!, waba: wideSignup["wabaId"]!, phone: wideSignup["phoneNumberId"]!)
        let wideID = try #require(try f.finished(wide)["connectionId"] as? String)
        #expect(try f.connection(wideID)?.decode(String.self, "webhook_override_url") == next.base + "/waba")
        #expect(try f.connection(ownID)?.decode(String.self, "webhook_override_url") == f.hookURL, "the number-scoped sibling keeps its URL")
        #expect(try verifyToken(f, ownID) == tokenBefore && tokenBefore != "next-token")
        // Where Meta routes the sibling is read back at once: still its own URL, not shadowed.
        let readBack = { try f.db.with { try $0.sql("""
            SELECT routing_effective_url FROM connections WHERE id = \(ownID) AND routing_checked_at > \(signedUpAt)::timestamptz
            """).scalar(String.self) } }
        #expect(eventually(timeout: 20) { (try? readBack()) != nil })
        #expect(try readBack() == f.hookURL)
    }

    /// A token Meta no longer accepts, found by a webhook change rather than a health poll: the
    /// change fails saying so (not as Meta's refusal of the URL) and the connection is
    /// disconnected at once, `token_revoked`.
    @Test func aDeadTokenFoundByAWebhookChangeDisconnects() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let live = try onboard(f, tenant: "cust_a")
        let next = try LoopbackServer.handshakeReceiver(token: "next-token")
        defer { next.stop() }
        try f.meta.post("/_fake/wabas/\(live.waba)/revoke", "{}")
        #expect(try f.server.send("PATCH", "/api/v1/connections/\(live.connectionID)", key: f.key,
                                  json: #"{"webhookOverrideUrl":"\#(next.base)/a","webhookVerifyToken":"next-token"}"#).status == 202)
        #expect(eventually(timeout: 20) { (try? f.connection(live.connectionID)?.decode(String.self, "status")) == "disconnected" })
        #expect(try f.events("connection.disconnected").last?["reason"] as? String == "token_revoked")
        let update = try f.db.with { try $0.sql("SELECT status, error FROM webhook_updates WHERE waba_id = \(live.waba)")[0] }
        #expect(try update.decode(String.self, at: 0) == "failed")
        #expect(try update.decode(String.self, at: 1).contains("no longer accepted by Meta"))
    }

    @Test func deletingASiblingKeepsTheWABAAndTheLastUnsubscribes() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let first = try onboard(f, tenant: "cust_a")
        let sibling = try onboard(f, tenant: "cust_a", waba: first.waba)
        func disconnected(_ id: String) -> Bool { (try? f.connection(id)?.decode(String.self, "status")) == "disconnected" }

        #expect(try f.server.send("DELETE", "/api/v1/connections/\(first.connectionID)", key: f.key).status == 202)
        #expect(eventually(timeout: 20) { disconnected(first.connectionID) })
        #expect(try f.meta.waba(first.waba)?["subscribed"] as? Bool == true, "the sibling still needs the WABA")
        #expect(try f.server.send("DELETE", "/api/v1/connections/\(first.connectionID)", key: f.key).status == 202, "twice is harmless")

        #expect(try f.server.send("DELETE", "/api/v1/connections/\(sibling.connectionID)", key: f.key).status == 202)
        #expect(eventually(timeout: 20) { disconnected(sibling.connectionID) })
        #expect(try f.meta.waba(first.waba)?["subscribed"] as? Bool == false, "the last connection unsubscribes the WABA")
        // A disconnected connection keeps no secret, and reveal says so.
        for id in [first.connectionID, sibling.connectionID] {
            let reveal = try f.server.send("POST", "/api/v1/connections/\(id)/reveal-secrets", key: f.key,
                                           json: #"{"secretTypes":["access_token","webhook_verify_token","registration_pin"]}"#)
            #expect(reveal.status == 409 && reveal.errorCode == "conflict" && reveal.text.contains("erased"))
            let kept = try f.db.with {
                try $0.sql("SELECT access_token IS NULL AND webhook_verify_token IS NULL AND registration_pin IS NULL FROM connections WHERE id = \(id)").scalar(Bool.self)
            }
            #expect(kept == true)
        }
        #expect(try f.meta.waba(first.waba)?["overrideCallbackUri"] is NSNull)

        let events = try f.events("connection.disconnected")
        #expect(events.compactMap { $0["connectionId"] as? String } == [first.connectionID, sibling.connectionID])
        #expect(events.allSatisfy { $0["reason"] as? String == "api" && $0["wabaId"] as? String == first.waba })
        #expect(events.first?["metadata"] as? [String: String] == ["plan": "pro"])
        let listed = try f.server.send("GET", "/api/v1/connections?status=disconnected", key: f.key)
        #expect(Set(ids(listed)) == [first.connectionID, sibling.connectionID])
    }

    @Test func revealGivesTheIssuedTokenUncachedAuditedAndBudgeted() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let connection = try onboard(f, tenant: "cust_a")
        let path = "/api/v1/connections/\(connection.connectionID)/reveal-secrets"
        let first = try f.server.send("POST", path, key: f.key, headers: ["Idempotency-Key": "same"],
                                      json: #"{"secretTypes":["access_token","webhook_verify_token"]}"#)
        #expect(first.status == 200 && first.header("Cache-Control") == "no-store")
        #expect(first.header("X-RateLimit-Limit") == "60" && first.header("X-RateLimit-Remaining") == "59")
        let secrets = first.json["secrets"] as? [String: String]
        #expect(secrets?["webhook_verify_token"] == "s3cret")
        let token = try #require(secrets?["access_token"])
        // The token Meta issued: the fake Graph API accepts it for this number.
        let proof = Digest.hmacSHA256(key: Data("dev-app-secret".utf8), message: Data(token.utf8)).hexString
        let atMeta = try HTTPResult.send("GET", "\(f.meta.base)/v25.0/\(connection.phone)?fields=id&appsecret_proof=\(proof)",
                                         headers: ["Authorization": "Bearer \(token)"])
        #expect(atMeta.status == 200 && atMeta.json["id"] as? String == connection.phone)

        let unknown = try f.server.send("POST", path, key: f.key, json: #"{"secretTypes":["password"]}"#)
        #expect(unknown.status == 400 && unknown.errorParam == "secretTypes")
        let empty = try f.server.send("POST", path, key: f.key, json: #"{"secretTypes":[]}"#)
        #expect(empty.status == 400 && empty.errorParam == "secretTypes")

        // Not replayed from storage: the same key reveals (and is audited) again.
        for n in 2...60 {
            let again = try f.server.send("POST", path, key: f.key, headers: n == 2 ? ["Idempotency-Key": "same"] : [:],
                                          json: #"{"secretTypes":["access_token"]}"#)
            #expect(again.status == 200 && again.header("Idempotent-Replayed") == nil)
        }
        let refused = try f.server.send("POST", path, key: f.key, json: #"{"secretTypes":["access_token"]}"#)
        #expect(refused.status == 429 && refused.errorCode == "rate_limited")
        #expect(refused.header("X-RateLimit-Remaining") == "0" && Int(refused.header("Retry-After") ?? "") ?? 0 > 3000)
        #expect(!refused.text.contains(token))

        let keyID = try f.db.with { try $0.sql("SELECT id FROM api_keys WHERE account_id = \(f.api.account.accountId)").scalar(String.self) }
        let audit = try f.db.with { try $0.sql("SELECT api_key_id, connection_id, secret_types::text, client_ip FROM secret_reveal_events").rows }
        #expect(audit.count == 60)
        #expect(try audit.allSatisfy { try $0.decode(String.self, at: 0) == keyID && $0.decode(String.self, at: 1) == connection.connectionID })
        #expect(try audit.allSatisfy { try $0.decode(String.self, at: 3) == "127.0.0.1" })
        let listed = try f.server.send("GET", "/api/v1/audit/secret-reveals?connectionId=\(connection.connectionID)&limit=100", key: f.key)
        let rows = listed.json["data"] as? [[String: Any]] ?? []
        #expect(rows.count == 60 && rows.last?["secretTypes"] as? [String] == ["access_token", "webhook_verify_token"])
        #expect(rows.first?["keyId"] as? String == keyID)
        let stored = try f.db.with { try $0.sql("SELECT count(*) FROM idempotency_keys WHERE key = 'same'").scalar(Int.self) }
        #expect(stored == 0, "a reveal's answer is never stored")
        for log in [f.server.process.log, f.worker.log] { #expect(!log.contains(token)) }

        // The whole database, as a backup would hold it: no token, key, secret or verify token in clear.
        let dump = try f.db.dump()
        #expect(dump.contains("CREATE TABLE public.connections") && dump.contains("v1:"))
        for (name, secret) in [("access token", token), ("API key", f.key), ("signing secret", f.api.account.eventSigningSecret),
                               ("verify token", "s3cret")] {
            #expect(!dump.contains(secret), "the \(name) is in the dump")
        }
    }
}
