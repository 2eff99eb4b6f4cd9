import Crypto
import Foundation
import JobQueue
import Postgres
import TestSupport
import Testing

/// From `complete` to a live connection, against the real worker and the fake Meta over HTTP.
@Suite(.serialized) struct ProvisioningTests {
    /// A number whose business set a two-step verification PIN of its own refuses Dualhook's
    /// PIN (133005). Meta cannot turn the PIN off and says to update one that is not known: the
    /// number's PIN becomes the kept one, and it connects registered instead of failing.
    /// A Cloud API signup whose number has a two-step PIN of its own; `beforeComplete` runs
    /// before the page completes it (a fault to inject, say).
    func signupWithItsOwnPIN(_ f: OnboardingFixture, beforeComplete: (String) throws -> Void = { _ in })
        throws -> (link: OnboardingFixture.Link, waba: String, phone: String) {
        let link = try f.link()
        let signup = try f.meta.signup(mode: "cloud_api")
        let waba = signup["wabaId"]!, phone = signup["phoneNumberId"]!
        try f.meta.post("/_fake/phones/\(phone)", #"{"twoStepPin":"111111"}"#)
        try beforeComplete(phone)
        #expect(try f.complete(link, code: signup["code"]!, waba: waba, phone: phone).status == 202)
        return (link, waba, phone)
    }

    /// The calls the fake Meta received, as `METHOD path`.
    func calls(_ f: OnboardingFixture) throws -> [String] {
        (try f.meta.state()["calls"] as? [[String: Any]] ?? []).map { "\($0["method"]!) \($0["path"]!)" }
    }

    @Test func aNumberWithItsOwnTwoStepPINConnectsRegistered() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let (link, waba, phone) = try signupWithItsOwnPIN(f)

        let session = try f.finished(link)
        #expect(session["status"] as? String == "completed", "\(session)")
        let connectionID = try #require(session["connectionId"] as? String)
        let row = try #require(try f.connection(connectionID))
        #expect(try row.decode(Bool.self, "registered"))
        let atMeta = try #require(try f.meta.phone(phone, waba: waba))
        #expect(atMeta["registered"] as? Bool == true)
        let pin = try TestEnvironment.vault.openText(try row.decode(String.self, "registration_pin"), associatedData: "connection:\(connectionID):pin")
        #expect(atMeta["twoStepPin"] as? String == pin && pin != "111111", "the number's PIN is the one reveal-secrets gives")
        let calls = try calls(f)
        let registers = calls.indices.filter { calls[$0] == "POST /v25.0/\(phone)/register" }
        #expect(registers.count == 2, "refused once, then registered: \(calls)")
        #expect(registers.count == 2 && calls[registers[0]..<registers[1]].contains("POST /v25.0/\(phone)"), "the PIN updated between the two")
        #expect(try f.events("onboarding.completed").last?["twoStepPinReplaced"] as? Bool == true, "the account is told")
    }

    /// A passing fault on the PIN update is tried again in place: a retry of the whole job
    /// would register again first, spending one of Meta's 10 registrations in 72 hours.
    @Test func aBlipOnThePINUpdateSpendsNoFurtherRegistration() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let (link, _, phone) = try signupWithItsOwnPIN(f) { try f.meta.fault("POST /v25.0/\($0)$", status: 500) }
        #expect(try f.finished(link)["status"] as? String == "completed")
        let calls = try calls(f)
        #expect(calls.filter { $0 == "POST /v25.0/\(phone)/register" }.count == 2, "refused once, then registered: \(calls)")
        #expect(calls.filter { $0 == "POST /v25.0/\(phone)" }.count == 2, "the PIN update, failed once and tried again")
    }

    @Test func aCloudAPINumberEndsLiveSubscribedAndRegisteredWithItsTokenSealed() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let link = try f.link()
        let signup = try f.meta.signup(mode: "cloud_api")
        let waba = signup["wabaId"]!, phone = signup["phoneNumberId"]!
        #expect(try f.complete(link, code: signup["code"]!, waba: waba, phone: phone).status == 202)

        let session = try f.finished(link)
        #expect(session["status"] as? String == "completed", "\(session)")
        let connectionID = try #require(session["connectionId"] as? String)
        let row = try #require(try f.connection(connectionID))
        #expect(try row.decode(String.self, "status") == "active")
        #expect(try row.decode(String.self, "connection_mode") == "cloud_api")
        #expect(try row.decode(String.self, "webhook_override_url") == f.hookURL)
        #expect(try row.decode(Bool.self, "registered"))

        let atMeta = try #require(try f.meta.waba(waba))
        #expect(atMeta["subscribed"] as? Bool == true)
        #expect(atMeta["overrideCallbackUri"] as? String == f.hookURL)
        #expect(atMeta["overrideVerifyToken"] as? String == "s3cret")
        #expect(try f.meta.phone(phone, waba: waba)?["registered"] as? Bool == true)
        let pin = try TestEnvironment.vault.openText(try row.decode(String.self, "registration_pin"), associatedData: "connection:\(connectionID):pin")
        #expect(pin.count == 6 && pin.allSatisfy(\.isNumber), "the PIN registration set is kept, sealed")
        #expect(try f.events("onboarding.completed").last?["twoStepPinReplaced"] == nil, "no PIN of the business's was replaced")
        let calls = (try f.meta.state()["calls"] as? [[String: Any]] ?? []).map { "\($0["method"]!) \($0["path"]!)" }
        let subscribe = calls.firstIndex(of: "POST /v25.0/\(waba)/subscribed_apps")
        #expect(subscribe != nil && calls.lastIndex(of: "POST /v25.0/\(waba)/subscribed_apps")! > subscribe!,
                "a plain subscription, then the override")

        let completed = try f.events("onboarding.completed")
        #expect(completed.count == 1)
        // Counted for /metrics by the worker that finished it.
        #expect(eventually(timeout: 15) {
            (try? f.server.send("GET", "/metrics", key: APIServer.metricsToken).text)?
                .contains(#"dualhook_onboarding_outcomes_total{outcome="completed",reason=""} 1"#) == true
        })
        #expect(completed.first?["connectionId"] as? String == connectionID)
        #expect(completed.first?["wabaId"] as? String == waba && completed.first?["phoneNumberId"] as? String == phone)
        #expect(completed.first?["connectionMode"] as? String == "cloud_api")
        #expect(completed.first?["metadata"] as? [String: String] == ["plan": "pro"])

        let status = try f.status(link)
        #expect(status["redirectUrl"] as? String == "https://app.example.com/done?sessionId=\(link.sessionID)&status=completed")
        #expect(try f.server.send("GET", "/onboard/\(link.token)").status == 410, "the link no longer works")

        // The token: sealed with the connection id, usable at Meta, in no log line.
        let sealed = try row.decode(String.self, "access_token")
        #expect(sealed.hasPrefix("v1:") && !sealed.contains("EAAG"))
        let token = try Vault(keyRing: TestEnvironment.masterKeys).openText(sealed, associatedData: connectionID)
        #expect(token.hasPrefix("EAAG"))
        #expect(throws: (any Error).self) { try Vault(keyRing: TestEnvironment.masterKeys).openText(sealed, associatedData: "con_other") }
        let leaked = try f.db.with { try $0.sql("""
            SELECT (SELECT count(*) FROM onboarding_sessions WHERE exchanged_token IS NOT NULL)
                 + (SELECT count(*) FROM jobs WHERE args::text LIKE '%' || \(token) || '%' OR errors::text LIKE '%' || \(token) || '%')
            """).scalar(Int.self) }
        #expect(leaked == 0)
        for log in [f.worker.log, f.server.process.log] {
            #expect(!log.contains(token) && !log.contains(signup["code"]!) && !log.contains("dev-app-secret"))
        }
    }

    @Test func coexistenceIsNotRegisteredButSyncedAndAnUnknownModeIsResolvedLater() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let link = try f.link(["coexistence": true])
        let signup = try f.meta.signup(mode: "coexistence")
        try f.complete(link, code: signup["code"]!, waba: signup["wabaId"]!, phone: signup["phoneNumberId"]!,
                       event: "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING")
        let session = try f.finished(link)
        #expect(session["status"] as? String == "completed", "\(session)")
        let row = try #require(try f.connection(session["connectionId"] as? String ?? ""))
        #expect(try row.decode(String.self, "connection_mode") == "coexistence")
        let phone = try f.meta.phone(signup["phoneNumberId"]!, waba: signup["wabaId"]!)
        #expect(phone?["registered"] as? Bool == false)
        #expect(phone?["syncRequests"] as? [String] == ["smb_app_state_sync", "history"])

        // A number on the app for longer than Meta's 24 h: it connects without the syncs Meta no
        // longer allows (2593108), and no sync job asks again.
        let old = try f.link(["coexistence": true], tenant: "cust_old")
        let oldSignup = try f.meta.signup(mode: "coexistence")
        try f.meta.post("/_fake/phones/\(oldSignup["phoneNumberId"]!)", #"{"onboardedSecondsAgo":90000}"#)
        try f.complete(old, code: oldSignup["code"]!, waba: oldSignup["wabaId"]!, phone: oldSignup["phoneNumberId"]!,
                       event: "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING")
        let oldSession = try f.finished(old)
        #expect(oldSession["status"] as? String == "completed", "\(oldSession)")
        let oldConnection = try #require(oldSession["connectionId"] as? String)
        #expect(try f.meta.phone(oldSignup["phoneNumberId"]!, waba: oldSignup["wabaId"]!)?["syncRequests"] as? [String] ?? [] == [])
        let syncJobs = { try f.db.with { try $0.sql("""
            SELECT state FROM jobs WHERE kind = 'connections.request_sync' AND args->>'connectionId' = \(oldConnection)
            """).rows.map { try $0.decode(String.self, at: 0) } } }
        #expect(try syncJobs() == [], "Meta's word is final: nothing retries it")

        // A sync Meta could not take at onboarding is asked again by a job; once Meta says the
        // window has passed, the job ends instead of retrying.
        let late = try f.link(["coexistence": true], tenant: "cust_late")
        let lateSignup = try f.meta.signup(mode: "coexistence")
        let latePhone = lateSignup["phoneNumberId"]!
        // Refused at onboarding and by the job's first try.
        try f.meta.fault("POST /v25.0/\(latePhone)/smb_app_data", status: 503, times: 2)
        try f.complete(late, code: lateSignup["code"]!, waba: lateSignup["wabaId"]!, phone: latePhone,
                       event: "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING")
        let lateConnection = try #require(try f.finished(late)["connectionId"] as? String)
        let lateJobs = { try f.db.with { try $0.sql("""
            SELECT state || ':' || attempt FROM jobs WHERE kind = 'connections.request_sync' AND args->>'connectionId' = \(lateConnection)
            """).rows.map { try $0.decode(String.self, at: 0) } } }
        #expect(eventually(timeout: 20) { (try? lateJobs()) == ["available:1"] }, "asked again later: \((try? lateJobs()) ?? [])")
        try f.meta.post("/_fake/phones/\(latePhone)", #"{"onboardedSecondsAgo":90000}"#)
        try f.db.with { _ = try JobAdmin.runNow(kind: "connections.request_sync", on: $0) }
        #expect(eventually(timeout: 20) { (try? lateJobs()) == ["completed:2"] }, "\((try? lateJobs()) ?? [])")
        #expect(try f.meta.phone(latePhone, waba: lateSignup["wabaId"]!)?["syncRequests"] as? [String] ?? [] == [])

        // A Coexistence signup that names its number, which Meta has not settled yet: live as
        // `unknown`, polled until it is.
        let later = try f.link(["coexistence": true], tenant: "cust_43")
        let pending = try f.meta.signup(mode: "unknown")
        try f.complete(later, code: pending["code"]!, waba: pending["wabaId"]!, phone: pending["phoneNumberId"]!,
                       event: "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING")
        let unknown = try f.finished(later)
        let connectionID = try #require(unknown["connectionId"] as? String)
        #expect(try f.connection(connectionID)?.decode(String.self, "connection_mode") == "unknown")
        #expect(try f.events("onboarding.completed").last?["connectionMode"] as? String == "unknown")
        #expect(try f.events("connection.mode_resolved").isEmpty)
        #expect(try f.meta.phone(pending["phoneNumberId"]!, waba: pending["wabaId"]!)?["registered"] as? Bool == false)

        try f.meta.post("/_fake/phones/\(pending["phoneNumberId"]!)", #"{"mode":"coexistence"}"#)
        // The poll is due in 30 s; bring it forward instead of sleeping.
        try f.db.with { try JobAdmin.runNow(kind: "connections.resolve_mode", on: $0) }
        #expect(eventually(timeout: 20) { (try? f.events("connection.mode_resolved").count) == 1 })
        let resolved = try f.events("connection.mode_resolved").first
        #expect(resolved?["connectionId"] as? String == connectionID && resolved?["connectionMode"] as? String == "coexistence")
        #expect(resolved?["tenantId"] as? String == "cust_43" && resolved?["metadata"] as? [String: String] == ["plan": "pro"])
        #expect(try f.connection(connectionID)?.decode(String.self, "connection_mode") == "coexistence")
        let settled = try f.meta.phone(pending["phoneNumberId"]!, waba: pending["wabaId"]!)
        #expect(settled?["syncRequests"] as? [String] == ["smb_app_state_sync", "history"] && settled?["registered"] as? Bool == false)
    }

    @Test func aSecondNumberJoinsAsASiblingAndAnotherTenantIsRefusedTheWABA() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let second = try LoopbackServer.handshakeReceiver(token: "s3cret-2")
        defer { second.stop() }
        let first = try f.link()
        let signup = try f.meta.signup()
        let waba = signup["wabaId"]!
        try f.complete(first, code: signup["code"]!, waba: waba, phone: signup["phoneNumberId"]!)
        let one = try f.finished(first)
        #expect(one["status"] as? String == "completed")

        let newURL = second.base + "/v2/whatsapp"
        let sibling = try f.link(["webhookOverrideUrl": newURL, "webhookVerifyToken": "s3cret-2"])
        let more = try f.meta.signup(wabaID: waba)
        try f.complete(sibling, code: more["code"]!, waba: waba, phone: more["phoneNumberId"]!)
        let two = try f.finished(sibling)
        #expect(two["status"] as? String == "completed", "\(two)")
        for id in [one["connectionId"], two["connectionId"]].compactMap({ $0 as? String }) {
            let row = try f.connection(id)
            #expect(try row?.decode(String.self, "webhook_override_url") == newURL, "siblings carry the latest configuration")
            let sealed = try row?.decode(String.self, "webhook_verify_token") ?? ""
            #expect(try TestEnvironment.vault.openText(sealed, associatedData: "connection:\(id):verify_token") == "s3cret-2")
        }
        #expect(try f.meta.waba(waba)?["overrideVerifyToken"] as? String == "s3cret-2")
        #expect(try f.meta.waba(waba)?["overrideCallbackUri"] as? String == newURL)
        #expect(try f.events("onboarding.completed").last?["siblingConnectionIds"] as? [String] == [one["connectionId"] as! String])

        let intruder = try f.link(tenant: "cust_99")
        let third = try f.meta.signup(wabaID: waba)
        try f.complete(intruder, code: third["code"]!, waba: waba, phone: third["phoneNumberId"]!)
        let refused = try f.finished(intruder)
        #expect(refused["status"] as? String == "failed" && refused["failureReason"] as? String == "waba_webhook_conflict")
        let failed = try f.events("onboarding.failed").last
        #expect(failed?["reason"] as? String == "waba_webhook_conflict")
        #expect(failed?["existingWebhookOverrideUrl"] as? String == newURL, "the same account learns which URL holds the WABA")
        #expect(failed?["wabaId"] as? String == waba && failed?["phoneNumberId"] as? String == third["phoneNumberId"])
        #expect(try f.meta.waba(waba)?["overrideCallbackUri"] as? String == newURL, "the holder's configuration is untouched")
        #expect(try f.status(intruder)["redirectUrl"] as? String
                == "https://app.example.com/error?sessionId=\(intruder.sessionID)&status=failed&reason=waba_webhook_conflict")

        // Another account learns of the conflict, not whose URL holds the WABA.
        let other = try f.api.anotherAccount()
        let foreign = try f.server.send("POST", "/api/v1/onboarding/sessions", key: other.apiKey,
                                        json: sessionBody(["webhookOverrideUrl": f.hookURL, "successRedirectUrl": "https://other.test/ok",
                                                           "failureRedirectUrl": "https://other.test/no", "cancelRedirectUrl": "https://other.test/x"]))
        let foreignLink = OnboardingFixture.Link(sessionID: foreign.json["sessionId"] as! String,
                                                 token: String((foreign.json["onboardingUrl"] as! String).split(separator: "/").last!))
        let fourth = try f.meta.signup(wabaID: waba)
        try f.complete(foreignLink, code: fourth["code"]!, waba: waba, phone: fourth["phoneNumberId"]!)
        #expect(eventually(timeout: 30) {
            (try? f.db.with { try $0.sql("SELECT failure_reason FROM onboarding_sessions WHERE id = \(foreignLink.sessionID)").scalar(String.self) })
                == "waba_webhook_conflict"
        })
        let foreignEvent = try f.events("onboarding.failed").last
        #expect(foreignEvent?["sessionId"] as? String == foreignLink.sessionID && foreignEvent?["existingWebhookOverrideUrl"] == nil)
    }

    /// A worker whose key ring lacks the key that sealed a session's secrets (a misconfigured
    /// deploy): the exchange is retried, and at its last attempt the session fails with its
    /// event instead of staying `exchanging` until its link expires; the key's id stays out of it.
    @Test func aSessionWhoseSecretsDoNotOpenFailsAtTheLastAttempt() throws {
        let stranger = "k9:" + Data(repeating: 7, count: 32).base64EncodedString()
        let f = try OnboardingFixture(workerEnvironment: ["DUALHOOK_MASTER_KEYS": stranger])
        defer { f.close() }
        let link = try f.link()
        let signup = try f.meta.signup()
        #expect(try f.complete(link, code: signup["code"]!, waba: signup["wabaId"]!, phone: signup["phoneNumberId"]!).status == 202)
        let session = try f.finished(link, timeout: 90)
        #expect(session["status"] as? String == "failed" && session["failureReason"] as? String == "meta_error", "\(session)")
        let failed = try #require(try f.events("onboarding.failed").first)
        #expect(failed["sessionId"] as? String == link.sessionID && failed["reason"] as? String == "meta_error")
        let error = try #require(failed["error"] as? String)
        #expect(error.contains("could not be opened") && !error.contains("k9") && !error.contains("dev"), "\(error)")
        #expect(try f.db.with { try $0.sql("SELECT count(*) FROM jobs WHERE kind = 'onboarding.exchange_code' AND state = 'completed'").scalar(Int.self) } == 1)
        #expect(try f.db.with { try $0.sql("SELECT count(*) FROM connections").scalar(Int.self) } == 0)
    }

    /// Meta throttling the WABA: the step waits for Meta (its usage header says "0 minutes":
    /// under one, 15 s), its attempts not spent, and the onboarding completes; with a short
    /// retry per attempt each throttle spent one, and five failed the session as `meta_error`.
    @Test func aThrottledStepWaitsForMetaInsteadOfFailingTheSession() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let link = try f.link()
        let signup = try f.meta.signup()
        try f.meta.fault("POST /v25.0/\(signup["wabaId"]!)/subscribed_apps", preset: "waba_rate_limit", times: 2)
        try f.complete(link, code: signup["code"]!, waba: signup["wabaId"]!, phone: signup["phoneNumberId"]!)
        let session = try f.finished(link, timeout: 90)
        #expect(session["status"] as? String == "completed", "\(session)")
        let job = try f.db.with { try $0.sql("""
            SELECT attempt, last_error IS NULL FROM jobs WHERE kind = 'onboarding.exchange_code' AND args->>'sessionId' = \(link.sessionID)
            """)[0] }
        #expect(try job.decode(Int.self, at: 0) == 1, "the waits took no attempt")
        let subscribes = (try f.meta.state()["calls"] as? [[String: Any]] ?? [])
            .filter { ($0["method"] as? String) == "POST" && ($0["path"] as? String) == "/v25.0/\(signup["wabaId"]!)/subscribed_apps" }
        #expect(subscribes.count >= 3, "two throttled, then accepted")
    }

    /// A worker with a wrong app secret: Graph answers the exchange with code 1, which elsewhere
    /// is a passing fault. Not retried (the code would be spent by then anyway), the session
    /// fails as `oauth_exchange_failed`, and the log says what to mend without the secret.
    @Test func aWrongAppSecretFailsTheExchangeAtOnceAndSaysWhatToMend() throws {
        let f = try OnboardingFixture(workerEnvironment: ["META_APP_SECRET": "not-the-app-secret"])
        defer { f.close() }
        let link = try f.link()
        let signup = try f.meta.signup()
        try f.complete(link, code: signup["code"]!, waba: signup["wabaId"]!, phone: signup["phoneNumberId"]!)
        let session = try f.finished(link)
        #expect(session["status"] as? String == "failed" && session["failureReason"] as? String == "oauth_exchange_failed", "\(session)")
        let attempts = try f.db.with {
            try $0.sql("SELECT max(attempt) FROM jobs WHERE kind = 'onboarding.exchange_code'").scalar(Int.self)
        }
        #expect(attempts == 1, "not retried")
        #expect(f.worker.log.contains("check META_APP_ID and META_APP_SECRET"))
        #expect(!f.worker.log.contains("not-the-app-secret"))
        #expect(try f.events("onboarding.failed").first?["metaError"] as? [String: Any] != nil)
    }

    @Test func metaRefusalsEndInTheirReasonsAndATransientFailureIsRetried() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        func failure(_ link: OnboardingFixture.Link) throws -> String? {
            let session = try f.finished(link)
            #expect(session["status"] as? String == "failed", "\(session)")
            return session["failureReason"] as? String
        }
        // A code Meta does not know.
        let badCode = try f.link()
        let signup = try f.meta.signup()
        try f.complete(badCode, code: "AQnot-a-code", waba: signup["wabaId"]!, phone: signup["phoneNumberId"]!)
        #expect(try failure(badCode) == "oauth_exchange_failed")
        #expect(try f.status(badCode)["redirectUrl"] as? String
                == "https://app.example.com/error?sessionId=\(badCode.sessionID)&status=failed&reason=oauth_exchange_failed")

        // An override URL that does not answer Meta's challenge: 2200, and the WABA is left unsubscribed.
        let refusedHook = try f.link(["webhookVerifyToken": "not-what-the-endpoint-expects"])
        let refusedSignup = try f.meta.signup()
        try f.complete(refusedHook, code: refusedSignup["code"]!, waba: refusedSignup["wabaId"]!, phone: refusedSignup["phoneNumberId"]!)
        #expect(try failure(refusedHook) == "webhook_subscription_failed")
        #expect(try f.events("onboarding.failed").last?["metaError"] as? [String: Any] != nil)
        #expect((try f.events("onboarding.failed").last?["metaError"] as? [String: Any])?["code"] as? Int == 2200)
        #expect(try f.meta.waba(refusedSignup["wabaId"]!)?["subscribed"] as? Bool == false)

        // Meta answering 500 every time: retried, then `meta_error`.
        let down = try f.link()
        let downSignup = try f.meta.signup()
        try f.meta.fault("POST /v25.0/\(downSignup["wabaId"]!)/subscribed_apps", status: 500, body: #"{"error":{"message":"(#131000) Something went wrong","type":"OAuthException","code":131000,"error_data":{"messaging_product":"whatsapp","details":"Internal error, retry later"},"fbtrace_id":"Az"}}"#, times: 10)
        try f.complete(down, code: downSignup["code"]!, waba: downSignup["wabaId"]!, phone: downSignup["phoneNumberId"]!)
        #expect(try failure(down) == "meta_error")
        // Meta's own explanation travels with its code.
        #expect((try f.events("onboarding.failed").last?["metaError"] as? [String: Any])?["details"] as? String == "Internal error, retry later")
        let attempts = try f.db.with { try $0.sql("SELECT attempt FROM jobs WHERE kind = 'onboarding.exchange_code' AND args->>'sessionId' = \(down.sessionID)").scalar(Int.self) }
        #expect(attempts == 5)
        #expect(try f.meta.waba(downSignup["wabaId"]!)?["subscribed"] as? Bool == false, "a WABA no connection holds is released")

        // One 500, then Meta is fine again: retried to success, the code exchanged once.
        let blip = try f.link()
        let blipSignup = try f.meta.signup()
        try f.meta.fault("POST /v25.0/\(blipSignup["phoneNumberId"]!)/register", status: 500, times: 1)
        try f.complete(blip, code: blipSignup["code"]!, waba: blipSignup["wabaId"]!, phone: blipSignup["phoneNumberId"]!)
        let recovered = try f.finished(blip)
        #expect(recovered["status"] as? String == "completed", "\(recovered)")
        let exchanges = (try f.meta.state()["calls"] as? [[String: Any]] ?? []).filter { ($0["path"] as? String) == "/v25.0/oauth/access_token" }
        #expect(exchanges.count == 4, "one exchange per session: the token is kept across retries")
        #expect(try f.meta.phone(blipSignup["phoneNumberId"]!, waba: blipSignup["wabaId"]!)?["registered"] as? Bool == true)
        #expect(try f.events("onboarding.failed").map { $0["reason"] as? String } == ["oauth_exchange_failed", "webhook_subscription_failed", "meta_error"])
        // Each names the WABA and the number the browser reported, as every event does when they are known.
        #expect(try f.events("onboarding.failed").map { [$0["wabaId"] as? String, $0["phoneNumberId"] as? String] }
                == [signup, refusedSignup, downSignup].map { [$0["wabaId"], $0["phoneNumberId"]] })

        // Failures and retries logged plenty: none of it holds a code or the app secret.
        let codes = [signup, refusedSignup, downSignup, blipSignup].map { $0["code"]! }
        let stored = try f.db.with { try $0.sql("""
            SELECT coalesce(string_agg(data::text, ' '), '') FROM events
            UNION ALL SELECT coalesce(string_agg(errors::text || coalesce(last_error, '') || args::text, ' '), '') FROM jobs
            """).rows.map { try $0.decode(String.self, at: 0) }.joined() }
        for text in [f.worker.log, f.server.process.log, stored] {
            #expect(!codes.contains { text.contains($0) } && !text.contains("dev-app-secret") && !text.contains("EAAG"))
        }
    }
}
