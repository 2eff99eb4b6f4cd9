import Crypto
@testable import Dualhook
import Foundation
import JobQueue
import TestSupport
import Testing

/// The dashboard and the operator console in a real headless Chromium, against the real
/// binaries, Postgres and the fake Meta: sign-in with a password and TOTP, what each role may
/// do, CSRF, another account's ids, and the actions (refresh health, redeliver, keys, bulk retry).
@Suite(.serialized) struct DashboardTests {
    static let password = "a long dashboard password"

    /// Pages that show a secret once, by design (a new key, recovery codes); all others are scanned.
    struct Scan {
        let secrets: [String]
        func check(_ html: String, _ page: String) {
            for secret in secrets where html.contains(secret) { Issue.record("a secret is on \(page)") }
            #expect(!html.contains("EAAG"), "no access token on \(page)")
        }
    }

    func screenshot(_ browser: WebDriver, _ name: String) throws {
        for (width, suffix) in [(1280, "wide"), (390, "phone")] {
            try browser.resize(width: width, height: 1000)
            try browser.screenshot(to: TestEnvironment.repositoryRoot.appendingPathComponent(".data/test-artifacts/dashboard-\(name)-\(suffix).png"))
            // Readable at phone width: nothing wider than the window (tables scroll in their own box).
            let overflow = try browser.script("return document.documentElement.scrollWidth - window.innerWidth") as? Int ?? 0
            #expect(overflow <= 1, "\(name) at \(width) px is \(overflow) px wider than the window")
        }
        try browser.resize(width: 1280, height: 1000)
    }

    /// The one-time link's path on this server (links are made with the public URL).
    func local(_ url: String, _ f: OnboardingFixture) -> String {
        f.server.baseURL + url.replacingOccurrences(of: "http://dashboard.test", with: "")
    }

    func signIn(_ browser: WebDriver, _ f: OnboardingFixture, email: String, totpSecret: Data? = nil) throws {
        try browser.open(f.server.baseURL + "/dashboard/login")
        try browser.type(email, into: "#email")
        try browser.type(Self.password, into: "#password")
        try browser.click("#sign-in")
        if let totpSecret {
            #expect(eventually(timeout: 5) { browser.currentURL.hasSuffix("/dashboard/login/totp") })
            try browser.type(TOTP.code(secret: totpSecret, time: Date()), into: "#totp")
            try browser.click("#verify")
        }
    }

    func setPassword(_ browser: WebDriver, link: String) throws {
        try browser.open(link)
        #expect(browser.source.contains("id=\"confirm\""), "the set-password form at \(browser.currentURL): \(text(browser))")
        try browser.type(Self.password, into: "#password")
        try browser.type(Self.password, into: "#confirm")
        try browser.click("#save")
        #expect(eventually(timeout: 10) { !browser.currentURL.contains("/sign-in/") && browser.cookie("dh_session") != nil },
                "signed in after setting the password")
    }

    /// Signs out and waits for the sign-in page: a click returns before its navigation ends, and a
    /// page opened meanwhile would be replaced by it.
    func signOut(_ browser: WebDriver) throws {
        try browser.click("header form button")
        #expect(eventually(timeout: 10) { browser.currentURL.hasSuffix("/dashboard/login") })
    }

    /// A value the page's script reads, once the page shows it.
    func read(_ browser: WebDriver, _ script: String) -> String? {
        var value: String?
        _ = eventually(timeout: 10) {
            value = (try? browser.script(script)) as? String
            return value != nil
        }
        return value
    }

    func text(_ browser: WebDriver) -> String { (try? browser.script("return document.body.innerText")) as? String ?? "" }

    @Test func accountsAndOperatorsInARealBrowser() throws {
        try #require(WebDriver.isInstalled, "ops/setup installs chromium and chromium-driver")
        let receiver = try EventReceiver()
        defer { receiver.stop() }
        let f = try OnboardingFixture(serverEnvironment: ["DUALHOOK_PUBLIC_URL": "http://dashboard.test"])
        defer { f.close() }
        #expect(try f.server.send("PATCH", "/api/v1/account", key: f.key, json: #"{"eventUrl":"\#(receiver.url)"}"#).status == 200)
        let number = try f.onboard(to: f.hookURL)
        let scan = Scan(secrets: [f.key, f.api.account.eventSigningSecret, "s3cret"])
        let owner = try f.db.with {
            try UserStore.create(email: "owner@acme.test", accountID: f.api.account.accountId, role: "owner", publicURL: "http://dashboard.test", on: $0)
        }
        let browser = try WebDriver()
        defer { browser.close() }

        // Not signed in: sent to sign in.
        try browser.open(f.server.baseURL + "/dashboard")
        #expect(browser.currentURL.hasSuffix("/dashboard/login"))
        try screenshot(browser, "login")
        try browser.open(local(owner.signInUrl, f))
        try screenshot(browser, "set-password")
        try setPassword(browser, link: local(owner.signInUrl, f))
        #expect(eventually(timeout: 5) { browser.currentURL.hasSuffix("/dashboard") }, "at \(browser.currentURL)")
        #expect(text(browser).contains("active numbers"))
        scan.check(browser.source, "overview")
        try screenshot(browser, "overview")
        // The funnel's labels stay readable at phone width (the chart scrolls in its own box).
        try browser.resize(width: 390, height: 1000)
        let label = try browser.script("var t = document.querySelector('svg[aria-label=\"Onboarding funnel\"] text'); return t ? t.getBoundingClientRect().height : -1") as? NSNumber
        #expect((label?.doubleValue ?? 0) >= 9, "funnel label \(label?.doubleValue ?? 0) px high at 390 px")
        try browser.resize(width: 1280, height: 1000)
        // The link works once, and a newer link ends every older one (looked at in the browser:
        // URLSession's shared cookie jar would keep the page's dh_csrf cookie and send it instead
        // of the Cookie header later requests here set).
        try browser.open(local(owner.signInUrl, f))
        #expect(text(browser).contains("used already or has expired"))
        let first = try #require(try f.db.with { try UserStore.newSignInLink(email: "owner@acme.test", publicURL: "http://dashboard.test", on: $0) })
        let second = try #require(try f.db.with { try UserStore.newSignInLink(email: "owner@acme.test", publicURL: "http://dashboard.test", on: $0) })
        try browser.open(local(first.signInUrl, f))
        #expect(text(browser).contains("used already or has expired"), "an older link stops working")
        try browser.open(local(second.signInUrl, f))
        #expect(text(browser).contains("Choose a password"))

        // Two-step sign-in: the key from the page, a code from it.
        try browser.open(f.server.baseURL + "/dashboard/settings")
        let key = try #require(read(browser, "return (document.getElementById('totp-key') || {}).textContent"))
        let secret = try #require(Self.base32Decode(key))
        try browser.open(f.server.baseURL + "/dashboard/settings")
        #expect(read(browser, "return (document.getElementById('totp-key') || {}).textContent") == key,
                "a reload offers the key the app scanned, not a new one")
        try screenshot(browser, "settings")
        try browser.type(TOTP.code(secret: secret, time: Date()), into: "#code")
        try browser.click("#enable-totp")
        #expect(eventually(timeout: 5) { text(browser).contains("recovery codes") })
        try signOut(browser)
        // Password right, code wrong: refused.
        try browser.type("owner@acme.test", into: "#email")
        try browser.type(Self.password, into: "#password")
        try browser.click("#sign-in")
        #expect(eventually(timeout: 5) { browser.currentURL.hasSuffix("/dashboard/login/totp") })
        let right = TOTP.code(secret: secret, time: Date())
        let wrong = right == "000000" ? "000001" : "000000"
        try screenshot(browser, "totp")
        try browser.type(wrong, into: "#totp")
        try browser.click("#verify")
        #expect(eventually(timeout: 5) { text(browser).contains("That code is not right") })
        try browser.open(f.server.baseURL + "/dashboard")
        #expect(browser.currentURL.hasSuffix("/dashboard/login/totp"), "no page without the second factor")
        try browser.type(TOTP.code(secret: secret, time: Date()), into: "#totp")
        try browser.click("#verify")
        #expect(eventually(timeout: 5) { browser.currentURL.hasSuffix("/dashboard") })

        // A form POST without the CSRF token is refused, even with the session's cookie.
        let cookie = try #require(browser.cookie("dh_session"))
        let forged = try HTTPResult.send("POST", f.server.baseURL + "/dashboard/keys",
                                         headers: ["Cookie": "dh_session=\(cookie)", "Content-Type": "application/x-www-form-urlencoded"],
                                         body: Data("x=1".utf8))
        #expect(forged.status == 403)

        // Refresh a number's health and see the timeline change.
        try f.meta.post("/_fake/phones/\(number.phone)", #"{"healthStatus":"LIMITED","qualityRating":"RED"}"#)
        try browser.open(f.server.baseURL + "/dashboard/connections/\(number.connection)")
        scan.check(browser.source, "connection")
        try screenshot(browser, "connection")
        try browser.click("#refresh-health")
        // Opening a page before the form's POST has gone out would cancel it: wait for its answer first.
        #expect(eventually(timeout: 10) { browser.currentURL.hasSuffix("?done=health") }, "the refresh was asked")
        #expect(eventually(timeout: 30) {
            (try? browser.open(f.server.baseURL + "/dashboard/connections/\(number.connection)")) != nil
                && text(browser).contains("connection.health_changed") && text(browser).contains("LIMITED")
        }, "the timeline shows the change")
        // Change the webhook from the dashboard: applied at Meta, after Meta's handshake with the new URL.
        let moved = try LoopbackServer.handshakeReceiver(token: "moved-token")
        defer { moved.stop() }
        try browser.open(f.server.baseURL + "/dashboard/connections/\(number.connection)")
        try browser.type(moved.base + "/whatsapp", into: "#webhookOverrideUrl")
        try browser.type("moved-token", into: "#webhookVerifyToken")
        try browser.script("document.querySelector('input[name=confirm][value=yes]').checked = true")
        try browser.click("#change-webhook")
        #expect(eventually(timeout: 30) { (try? f.meta.waba(number.waba))?["overrideCallbackUri"] as? String == moved.base + "/whatsapp" },
                "the new URL is the WABA's override at Meta")
        #expect(eventually(timeout: 10) {
            (try? browser.open(f.server.baseURL + "/dashboard/connections/\(number.connection)")) != nil && text(browser).contains("applied, asked")
        })
        // One refused as entered (a token with a space): the page again, the URL typed kept, the reason beside it.
        try browser.type(moved.base + "/typed", into: "#webhookOverrideUrl")
        try browser.type("has space", into: "#webhookVerifyToken")
        try browser.script("document.querySelector('input[name=confirm][value=yes]').checked = true")
        try browser.click("#change-webhook")
        let refusedChange = try #require(read(browser, "return (document.getElementById('form-problem') || {}).textContent"))
        #expect(refusedChange.contains("webhookVerifyToken"), "\(refusedChange)")
        #expect(read(browser, "return document.getElementById('webhookOverrideUrl').value") == moved.base + "/typed")
        #expect(read(browser, "return document.getElementById('webhookVerifyToken').value") == "" && !browser.source.contains("has space"))
        // One Meta refuses (the URL fails Meta's handshake for this token): the page says so, with Meta's reason.
        try browser.type(moved.base + "/refused", into: "#webhookOverrideUrl")
        try browser.type("not-the-token", into: "#webhookVerifyToken")
        try browser.script("document.querySelector('input[name=confirm][value=yes]').checked = true")
        try browser.click("#change-webhook")
        // The change is taken (its redirect) before the page is opened again: opening it sooner
        // could cancel the form's submission (it did once, in a fresh clone's CI).
        #expect(eventually(timeout: 10) { browser.currentURL.contains("done=webhook") }, "\(browser.currentURL)")
        #expect(eventually(timeout: 30) {
            (try? browser.open(f.server.baseURL + "/dashboard/connections/\(number.connection)")) != nil && text(browser).contains("failed, asked")
        }, "\(text(browser).prefix(1500))")
        #expect(text(browser).contains("2200"), "Meta's reason")
        #expect(try f.meta.waba(number.waba)?["overrideCallbackUri"] as? String == moved.base + "/whatsapp", "the previous override stays")
        try browser.open(f.server.baseURL + "/dashboard")
        #expect(text(browser).contains("quality RED"), "problems come first")
        try browser.open(f.server.baseURL + "/dashboard/connections?q=\(number.phone)")
        #expect(text(browser).contains(f.api.account.accountId) == false && browser.source.contains("/dashboard/connections/\(number.connection)"))
        // The number as digits only, as people type it, finds it too.
        let display = try #require(try f.server.send("GET", "/api/v1/connections/\(number.connection)", key: f.key).json["displayPhoneNumber"] as? String)
        try browser.open(f.server.baseURL + "/dashboard/connections?q=\(display.filter(\.isNumber))")
        #expect(browser.source.contains("/dashboard/connections/\(number.connection)"), "\(display) by its digits")
        try screenshot(browser, "connections")

        // Redeliver an event and see the new attempt.
        #expect(eventually(timeout: 20) { receiver.requests.count >= 1 })
        let eventID = try #require(receiver.requests.first?.json["id"] as? String)
        try browser.open(f.server.baseURL + "/dashboard/events/\(eventID)")
        let before = try browser.script("return document.querySelectorAll('#attempts tr').length") as? Int ?? 0
        scan.check(browser.source, "event")
        try screenshot(browser, "event")
        try browser.click("#redeliver")
        // Opening a page before the form's POST has gone out would cancel it: wait for its answer first.
        #expect(eventually(timeout: 10) { browser.currentURL.hasSuffix("?done=redeliver") }, "the redelivery was asked")
        #expect(eventually(timeout: 20) {
            (try? browser.open(f.server.baseURL + "/dashboard/events/\(eventID)")) != nil
                && ((try? browser.script("return document.querySelectorAll('#attempts tr').length")) as? Int ?? 0) > before
        }, "a new attempt")
        // An event endpoint is paused from here, shown disabled, and enabled again from here.
        let created = try f.server.send("POST", "/api/v1/event-endpoints", key: f.key,
                                        json: #"{"url":"\#(receiver.url)","tenantIds":["cust_elsewhere"]}"#)
        let endpointID = try #require(created.json["endpointId"] as? String)
        try browser.open(f.server.baseURL + "/dashboard/events")
        try browser.click("#disable-\(endpointID)")
        #expect(eventually(timeout: 10) {
            let shown = try? f.server.send("GET", "/api/v1/event-endpoints/\(endpointID)", key: f.key).json
            return shown?["status"] as? String == "disabled" && shown?["disabledReason"] as? String == "manual"
        })
        try browser.open(f.server.baseURL + "/dashboard/events")
        scan.check(browser.source, "events")
        #expect(text(browser).contains("disabled (manual)") && text(browser).contains("(default)"))
        try screenshot(browser, "events")
        try browser.click("#enable-\(endpointID)")
        #expect(eventually(timeout: 10) {
            (try? f.server.send("GET", "/api/v1/event-endpoints/\(endpointID)", key: f.key).json["status"] as? String) == "enabled"
        })
        #expect(try f.db.with {
            try $0.sql("""
                SELECT count(*) FROM audit_events WHERE action IN ('event_endpoint.disable', 'event_endpoint.enable') AND target = \(endpointID)
                """).scalar(Int.self)
        } == 2)
        // Send test: the browser is shown the test event, and its attempt appears there.
        let received = receiver.requests.count
        try browser.open(f.server.baseURL + "/dashboard/events")
        try browser.click("#test-\(endpointID)")
        #expect(eventually(timeout: 10) { browser.currentURL.contains("done=test") }, "\(browser.currentURL)")
        #expect(text(browser).contains("endpoint.test"))
        #expect(eventually(timeout: 20) {
            (try? browser.open(browser.currentURL)) != nil
                && ((try? browser.script("return document.querySelectorAll('#attempts tr:not(:first-child)').length")) as? Int ?? 0) == 1
        }, "the test's attempt")
        // To the tested endpoint only: the default one, at the same receiver, takes every type but not this.
        #expect(receiver.requests.dropFirst(received).filter { $0.json["type"] as? String == "endpoint.test" }.count == 1)

        // Create a key (shown once), use it, revoke it.
        try browser.open(f.server.baseURL + "/dashboard/keys")
        let form = "document.querySelector('form[action=\"/dashboard/keys\"]')"
        let once = try #require(read(browser, "return \(form).once.value"))
        try browser.click("#create-key")
        let newKey = try #require(read(browser, "return (document.getElementById('new-key') || {}).textContent"))
        #expect(newKey.hasPrefix("dh_live_"))
        // The same form posted again (a reload of the answer): no second key, back to the list.
        let keyCount = { try f.db.with { try $0.sql("SELECT count(*) FROM api_keys").scalar(Int.self) } }
        let keysBefore = try keyCount()
        try browser.open(f.server.baseURL + "/dashboard/keys")
        _ = read(browser, "window.beforeReplay = 1; var f = \(form); f.once.value = '\(once)'; f.submit(); return 'posted'")
        // A new document (the answer's), at the list.
        #expect(eventually(timeout: 5) {
            (try? browser.script("return window.beforeReplay === undefined ? 'new' : null")) as? String == "new"
                && browser.currentURL == f.server.baseURL + "/dashboard/keys" && browser.source.contains("create-key")
        })
        #expect(!browser.source.contains("new-key"))
        #expect(try keyCount() == keysBefore)
        #expect(try f.server.send("GET", "/api/v1/account", key: newKey).status == 200)
        try browser.open(f.server.baseURL + "/dashboard/keys")
        #expect(!browser.source.contains(newKey), "a key is shown once")
        scan.check(browser.source, "keys")
        try screenshot(browser, "keys")
        let keyID = try #require(try f.db.with { try $0.sql("SELECT id FROM api_keys WHERE key_hash = \(Digest.sha256(newKey))").scalar(String.self) })
        try browser.click("#revoke-\(keyID)")
        #expect(eventually(timeout: 5) { (try? f.server.send("GET", "/api/v1/account", key: newKey).status) == 401 })
        // An agency's self-serve link, from a form. Refused first (a redirect outside the
        // account's origins): the form comes back with what was typed, the secret token aside.
        /// The link form filled in (the redirects inside the account's origins unless given) and sent.
        func createLink(tenant: String, name: String, token: String, success: String = "https://app.example.com/done") throws {
            try browser.open(f.server.baseURL + "/dashboard/sessions")
            for (field, value) in [("#tenantId", tenant), ("#tenantName", name), ("#webhookOverrideUrl", f.hookURL),
                                   ("#webhookVerifyToken", token), ("#successRedirectUrl", success),
                                   ("#failureRedirectUrl", "https://app.example.com/error"), ("#cancelRedirectUrl", "https://app.example.com/cancel")] {
                try browser.type(value, into: field)
            }
            try browser.click("#create-link")
        }
        try createLink(tenant: "cust_form", name: "Clinic \"from\" <the> form", token: "s3cret-token", success: "https://elsewhere.example/done")
        let problem = try #require(read(browser, "return (document.getElementById('form-problem') || {}).textContent"))
        #expect(problem.hasPrefix("After success, go to: ") && problem.contains("successRedirectUrl") && problem.contains("verify token again"), "\(problem)")
        #expect(read(browser, "return document.activeElement.id + ' ' + document.getElementById('successRedirectUrl').getAttribute('aria-invalid')")
                == "successRedirectUrl true", "the field to correct is marked and focused")
        func typed(_ id: String) -> String? { read(browser, "return document.getElementById('\(id)').value") }
        #expect(typed("tenantId") == "cust_form" && typed("tenantName") == "Clinic \"from\" <the> form" && typed("webhookOverrideUrl") == f.hookURL)
        #expect(typed("successRedirectUrl") == "https://elsewhere.example/done" && typed("webhookVerifyToken") == "")
        #expect(!browser.source.contains("s3cret-token"), "the verify token is not written into the page")
        #expect(try f.server.send("GET", "/api/v1/onboarding/sessions?tenantId=cust_form", key: f.key).json["data"].map { ($0 as? [Any])?.count } == 0)
        try browser.type("https://app.example.com/done", into: "#successRedirectUrl")
        try browser.type("s3cret", into: "#webhookVerifyToken")
        try browser.type("Clinic from the form", into: "#tenantName")
        try browser.click("#create-link")
        let madeLink = try #require(read(browser, "return (document.getElementById('new-link') || {}).textContent"))
        #expect(madeLink.contains("/onboard/"))
        #expect(browser.source.contains("cust_form"), "the page that shows the new link lists its session too")
        #expect(try f.server.send("GET", "/api/v1/onboarding/sessions?tenantId=cust_form", key: f.key).json["data"].map { ($0 as? [Any])?.count } == 1)
        // Long lists come in pages, newest first, a filter kept from page to page.
        let paged = try (0...DashboardPaging.size).map { _ in try f.link(tenant: "cust_paged").sessionID }
        let sessionIDs = "return Array.from(document.querySelectorAll('#sessions tr td:first-child')).map(c => c.textContent).join(' ')"
        try browser.open(f.server.baseURL + "/dashboard/sessions?tenantId=cust_paged")
        let newest = try #require(read(browser, sessionIDs)).split(separator: " ").map(String.init)
        #expect(newest == Array(paged.reversed().prefix(DashboardPaging.size)), "the newest page, newest first")
        try browser.click("#older-page")
        #expect(eventually(timeout: 10) { browser.currentURL.contains("cursor=") && browser.currentURL.contains("tenantId=cust_paged") })
        #expect(read(browser, sessionIDs) == paged[0], "the oldest on the next page, the filter kept")
        #expect(!browser.source.contains("older-page") && browser.source.contains("newest-page"))
        try browser.open(f.server.baseURL + "/dashboard/sessions?tenantId=cust_paged&status=completed")
        #expect(text(browser).contains("No link matches."))
        try browser.open(f.server.baseURL + "/dashboard/sessions?cursor=not-ours")
        #expect(text(browser).contains("not one of ours") && browser.source.contains("cust_paged"))
        try browser.open(f.server.baseURL + "/dashboard/events?type=onboarding.completed&tenantId=cust_paged")
        #expect(text(browser).contains("No event matches."))
        // A trial that ended with no plan, on a plan that then stops onboarding: the overview
        // and usage say so, and the form's refusal is titled for it.
        let plan = try f.db.with { try $0.sql("SELECT plan FROM accounts WHERE id = \(f.api.account.accountId)").scalar(String.self) }
        try f.db.with { db in
            _ = try PlanStore.set(name: "strict", currency: "EUR", monthlyPrice: "20", included: 5, extraPrice: "3", trialDays: 0,
                                  afterTrial: .blockOnboarding, on: db)
            try db.sql("UPDATE accounts SET plan = 'strict' WHERE id = \(f.api.account.accountId)")
        }
        try browser.open(f.server.baseURL + "/dashboard")
        #expect(text(browser).contains("stopped: the trial has ended with no plan chosen"))
        try browser.open(f.server.baseURL + "/dashboard/usage")
        #expect(text(browser).contains("new onboarding links are refused until the operator sets a plan"))
        try createLink(tenant: "cust_blocked", name: "Blocked", token: "s3cret")
        #expect(eventually(timeout: 5) { text(browser).contains("A plan is needed") })
        try f.db.with { try $0.sql("UPDATE accounts SET plan = \(plan) WHERE id = \(f.api.account.accountId)") }
        for page in ["sessions", "usage", "audit"] {
            try browser.open(f.server.baseURL + "/dashboard/\(page)")
            scan.check(browser.source, page)
            try screenshot(browser, page)
        }
        #expect(text(browser).contains("api_key.revoke") && text(browser).contains("connection.health_refresh"), "the audit trail")
        // An account user does not see the console.
        let noPage = try HTTPResult.send("GET", f.server.baseURL + "/dashboard/sessions/ses_nope",
                                         headers: ["Cookie": "dh_session=\(try #require(browser.cookie("dh_session")))"])
        #expect(noPage.status == 404 && noPage.text.contains("There is no such page") && noPage.header("Content-Type")?.hasPrefix("text/html") == true,
                "a page, not the API's JSON: \(noPage.text.prefix(200))")
        let opsAsMember = try HTTPResult.send("GET", f.server.baseURL + "/ops", headers: ["Cookie": "dh_session=\(try #require(browser.cookie("dh_session")))"])
        #expect(opsAsMember.status == 404, "\(opsAsMember.status) \(opsAsMember.header("Location") ?? "") \(opsAsMember.text.prefix(300))")

        // A viewer of the account looks but cannot change; another account's ids are not found.
        let viewer = try f.db.with {
            try UserStore.create(email: "viewer@acme.test", accountID: f.api.account.accountId, role: "viewer", publicURL: "http://dashboard.test", on: $0)
        }
        try signOut(browser)
        try setPassword(browser, link: local(viewer.signInUrl, f))
        try browser.open(f.server.baseURL + "/dashboard/keys")
        #expect(!browser.source.contains("create-key"))
        let viewerCookie = try #require(browser.cookie("dh_session"))
        let csrf = try #require(try browser.script("return document.querySelector('input[name=csrfToken]').value") as? String)
        let refused = try HTTPResult.send("POST", f.server.baseURL + "/dashboard/keys",
                                          headers: ["Cookie": "dh_session=\(viewerCookie)", "Content-Type": "application/x-www-form-urlencoded"],
                                          body: Data("csrfToken=\(csrf)".utf8))
        #expect(refused.status == 403)
        let other = try f.api.anotherAccount()
        let stranger = try f.db.with {
            try UserStore.create(email: "someone@other.test", accountID: other.accountId, role: "owner", publicURL: "http://dashboard.test", on: $0)
        }
        try signOut(browser)
        try setPassword(browser, link: local(stranger.signInUrl, f))
        let foreign = try HTTPResult.send("GET", f.server.baseURL + "/dashboard/connections/\(number.connection)",
                                          headers: ["Cookie": "dh_session=\(try #require(browser.cookie("dh_session")))"])
        #expect(foreign.status == 404)

        // An operator: queues, and a bulk retry of the failed jobs that match.
        try f.db.with { db in
            for n in 0..<3 {
                try JobQueue.enqueueRaw(kind: "ops.no_such_kind", queue: "maintenance", argsJSON: #"{"n":\#(n)}"#, on: db)
            }
        }
        let discarded = { (try? f.db.with { try JobAdmin.count(.init(kind: "ops.no_such_kind", state: "discarded"), on: $0) }) ?? 0 }
        #expect(eventually(timeout: 20) { discarded() == 3 }, "the worker discards a kind it does not know")
        let operatorUser = try f.db.with { try UserStore.create(email: "ops@dualhook.test", accountID: nil, role: nil, publicURL: "http://dashboard.test", on: $0) }
        try signOut(browser)
        try setPassword(browser, link: local(operatorUser.signInUrl, f))
        #expect(eventually(timeout: 5) { browser.currentURL.hasSuffix("/ops") })
        #expect(text(browser).contains("maintenance"))
        // The fixture's worker is listed live, and it serves every queue: no queue is unserved.
        let workerStates = try browser.script("return Array.from(document.querySelectorAll('#workers tr td:last-child')).map(c => c.textContent).join(',')") as? String
        #expect(workerStates == "live", "\(text(browser).prefix(2000))")
        #expect(!browser.source.contains("id=\"unserved\""))
        scan.check(browser.source, "ops")
        try screenshot(browser, "ops")
        try browser.open(f.server.baseURL + "/ops/jobs?kind=ops.no_such_kind&state=discarded")
        try screenshot(browser, "ops-jobs")
        try browser.click("#bulk-retry")
        #expect(eventually(timeout: 5) { text(browser).contains("Retry 3 matching jobs?") })
        try screenshot(browser, "ops-confirm")
        try browser.click("#confirm-bulk")
        #expect(eventually(timeout: 5) { text(browser).contains("Retrying 3 jobs") })
        #expect(eventually(timeout: 20) {
            (try? f.db.with { try JobAdmin.list(.init(kind: "ops.no_such_kind"), limit: 10, on: $0) })?.allSatisfy { $0.attempt >= 2 } == true
        }, "each ran again")
        let jobID = try #require(try f.db.with { try JobAdmin.list(.init(kind: "ops.no_such_kind"), limit: 1, on: $0) }.first?.id)
        try browser.open(f.server.baseURL + "/ops/jobs/\(jobID)")
        scan.check(browser.source, "ops-job")
        try screenshot(browser, "ops-job")
        // Pause a queue and resume it.
        try browser.open(f.server.baseURL + "/ops")
        try browser.click("#pause-events")
        #expect(eventually(timeout: 5) { text(browser).contains("paused since") })
        #expect(try f.db.with { try JobAdmin.pausedQueues(on: $0) }.keys.sorted() == ["events"])
        try browser.click("#resume-events")
        #expect(eventually(timeout: 5) { !text(browser).contains("paused since") && browser.source.contains("pause-events") })
        #expect(try f.db.with { try JobAdmin.pausedQueues(on: $0) }.isEmpty)
        try browser.open(f.server.baseURL + "/ops/sweeps")
        #expect(text(browser).contains("expire-sessions"))
        try browser.click("#run-expire-sessions")
        #expect(eventually(timeout: 5) { text(browser).contains("expire-sessions queued as job") })
        scan.check(browser.source, "ops-sweeps")
        try screenshot(browser, "ops-sweeps")
        // An endpoint whose deliveries fail, beside the default and the one enabled again above.
        try f.db.with {
            try $0.sql("UPDATE event_endpoints SET failing_since = now() - interval '2 hours', last_error = 'HTTP 500' WHERE id = \(endpointID)")
        }
        try browser.open(f.server.baseURL + "/ops/accounts")
        #expect((try? browser.script("return document.getElementById('endpoints-\(f.api.account.accountId)').textContent")) as? String == "2, 1 failing")
        scan.check(browser.source, "ops-accounts")
        try screenshot(browser, "ops-accounts")
        let audited = try f.db.with { try $0.sql("SELECT detail->>'count' FROM audit_events WHERE action = 'jobs.retry'").scalar(String.self) }
        #expect(audited == "3")
        #expect(try HTTPResult.send("GET", f.server.baseURL + "/dashboard", headers: ["Cookie": "dh_session=\(try #require(browser.cookie("dh_session")))"]).status == 404,
                "operators see no account's pages")
    }

    static func base32Decode(_ text: String) -> Data? {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var buffer: UInt32 = 0, bits = 0
        var out = Data()
        for ch in text.uppercased() where ch != "=" {
            guard let value = alphabet.firstIndex(of: ch) else { return nil }
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> UInt32(bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return out
    }
}
