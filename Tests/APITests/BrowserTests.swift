import Foundation
import JobQueue
import TestSupport
import Testing

/// The onboarding page in a real headless Chromium: the page's script, the SDK stand-in's
/// popup, and the redirects at the end, with a screenshot of the page kept in
/// `.data/test-artifacts/`.
@Suite(.serialized) struct BrowserTests {
    @Test func connectFinishAndCancelInARealBrowser() throws {
        try #require(WebDriver.isInstalled, "ops/setup installs chromium and chromium-driver")
        let f = try OnboardingFixture()
        defer { f.close() }
        let (landing, redirects) = try landing(f)
        defer { landing.stop() }
        let browser = try WebDriver()
        defer { browser.close() }
        func run(_ link: OnboardingFixture.Link, press button: String, screenshot: String? = nil) throws {
            try signUp(browser, f.server.baseURL + "/onboard/" + link.token, press: button, screenshot: screenshot)
        }

        let link = try f.link(redirects)
        try run(link, press: "#finish", screenshot: "onboarding-page.png")
        let success = "\(landing.base)/done?sessionId=\(link.sessionID)&status=completed"
        #expect(eventually(timeout: 40) { browser.currentURL == success }, "landed on \(browser.currentURL)")
        let session = try f.session(link)
        #expect(session["status"] as? String == "completed")
        #expect(try f.connection(session["connectionId"] as? String ?? "")?.decode(String.self, "status") == "active")
        // The used link of a connected tenant says so, in the account's name.
        let used = try f.server.send("GET", "/onboard/\(link.token)")
        #expect(used.status == 410 && used.text.contains("is connected") && used.text.contains("Acme Health"))

        // Loaded again while Meta is slow to exchange the code (three refusals, retried over 8 s): the
        // page follows the session to its redirect all the same.
        try f.meta.fault("GET /v25.0/oauth/access_token", status: 500, times: 3)
        let slow = try f.link(redirects)
        try run(slow, press: "#finish")
        #expect(eventually(timeout: 10) { (try? f.session(slow)["status"] as? String) == "exchanging" })
        try browser.open(f.server.baseURL + "/onboard/" + slow.token)
        let slowDone = "\(landing.base)/done?sessionId=\(slow.sessionID)&status=completed"
        #expect(eventually(timeout: 40) { browser.currentURL == slowDone }, "landed on \(browser.currentURL)")

        // Coexistence: the page asks for the WhatsApp Business app flow, the popup answers with
        // its FINISH event, and the number keeps the app.
        var coexistence = redirects
        coexistence["coexistence"] = true
        let kept = try f.link(coexistence)
        try run(kept, press: "#finish")
        let keptURL = "\(landing.base)/done?sessionId=\(kept.sessionID)&status=completed"
        #expect(eventually(timeout: 40) { browser.currentURL == keptURL }, "landed on \(browser.currentURL)")
        let keptSession = try f.session(kept)
        #expect(try f.connection(keptSession["connectionId"] as? String ?? "")?.decode(String.self, "connection_mode") == "coexistence")

        let cancelled = try f.link(redirects)
        try run(cancelled, press: "#cancel")
        let cancelURL = "\(landing.base)/cancel?sessionId=\(cancelled.sessionID)&status=cancelled"
        #expect(eventually(timeout: 20) { browser.currentURL == cancelURL }, "landed on \(browser.currentURL)")
        #expect(try f.session(cancelled)["status"] as? String == "cancelled")
        #expect(try f.events("onboarding.failed").last?["currentStep"] as? String == "PHONE_NUMBER_SETUP")
    }

    /// A landing server the account may redirect to, and the three redirects pointing at it.
    func landing(_ f: OnboardingFixture) throws -> (LoopbackServer, [String: Any?]) {
        let landing = try LoopbackServer { request in .text(200, "landed on \(request.path)") }
        let patched = try f.server.send("PATCH", "/api/v1/account", key: f.key, json: #"{"redirectOrigins":["\#(landing.base)"]}"#)
        #expect(patched.status == 200, "\(patched.text)")
        return (landing, ["successRedirectUrl": landing.base + "/done", "failureRedirectUrl": landing.base + "/error",
                          "cancelRedirectUrl": landing.base + "/cancel"])
    }

    /// Opens the link, presses Connect, and in Meta's window runs `popup` (a script) or presses
    /// `button`.
    func signUp(_ browser: WebDriver, _ url: String, press button: String, before: String? = nil, screenshot: String? = nil) throws {
        try browser.open(url)
        #expect(eventually(timeout: 10) { (try? browser.script("return !!(window.FB && FB.login)")) as? Bool == true },
                "the SDK loaded from the fake Meta")
        if let screenshot {
            try browser.screenshot(to: TestEnvironment.repositoryRoot.appendingPathComponent(".data/test-artifacts/\(screenshot)"))
        }
        let page = browser.currentWindow
        try browser.click("#connect")
        #expect(eventually(timeout: 10) { browser.windowHandles.count == 2 }, "the Embedded Signup popup opened")
        guard let popup = browser.windowHandles.first(where: { $0 != page }) else { return }
        try browser.switchTo(window: popup)
        if let before { try browser.script(before) }
        try browser.click(button)
        try browser.switchTo(window: page)
    }

    @Test func aRefusedWebhookURLIsSaidPlainlyAndConnectChecksAgainInARealBrowser() throws {
        try #require(WebDriver.isInstalled, "ops/setup installs chromium and chromium-driver")
        let f = try OnboardingFixture()
        defer { f.close() }
        // The tenant's URL answers Meta's handshake only for another verify token.
        let link = try f.link(["webhookVerifyToken": "not-the-one"])
        func check() -> [String: Any] { (try? f.session(link)) ?? [:] }
        #expect(eventually(timeout: 20) { check()["webhookCheck"] as? String == "failed" })
        #expect((check()["webhookCheckError"] as? String)?.hasPrefix("answered HTTP") == true, "\(check())")
        #expect(try f.events("onboarding.webhook_check_failed").count == 1)

        let browser = try WebDriver()
        defer { browser.close() }
        try browser.open(f.server.baseURL + "/onboard/" + link.token)
        func message() -> String { (try? browser.script("return document.getElementById('message').textContent")) as? String ?? "" }
        #expect(eventually(timeout: 10) { message().contains("Please contact Acme Health") }, "said: \(message())")
        try browser.screenshot(to: TestEnvironment.repositoryRoot.appendingPathComponent(".data/test-artifacts/onboarding-webhook-refused.png"))
        // Connect checks the URL again instead of opening Meta's window.
        try browser.click("#connect")
        #expect(eventually(timeout: 20) { (try? f.events("onboarding.webhook_check_failed").count) == 2 }, "checked again")
        #expect(eventually(timeout: 10) { message().contains("Please contact Acme Health") }, "said: \(message())")
        #expect(browser.windowHandles.count == 1, "no Embedded Signup popup for a URL Meta would refuse")
        #expect(check()["status"] as? String == "opened")
    }

    @Test func theButtonWearsTheBrandWithReadableTextAndThePageNamesWhomToAsk() throws {
        try #require(WebDriver.isInstalled, "ops/setup installs chromium and chromium-driver")
        let f = try OnboardingFixture()
        defer { f.close() }
        let patched = try f.server.send("PATCH", "/api/v1/account", key: f.key, json: """
            {"brandColor":"#FFCC00","supportEmail":"help@acme.test","privacyPolicyUrl":"https://acme.test/privacy"}
            """)
        #expect(patched.status == 200 && patched.json["brandColor"] as? String == "#ffcc00", "\(patched.text)")
        let named = try f.server.send("PATCH", "/api/v1/account", key: f.key, json: #"{"brandColor":"yellow"}"#)
        #expect(named.errorParam == "brandColor" && named.text.contains("#rrggbb"), "the format's message, not a length's: \(named.text)")
        #expect(try f.server.send("PATCH", "/api/v1/account", key: f.key, json: #"{"supportEmail":"nobody"}"#).errorParam == "supportEmail")
        let link = try f.link()
        let browser = try WebDriver()
        defer { browser.close() }
        for (width, name) in [(1280, "wide"), (390, "phone")] {
            try browser.resize(width: width, height: 900)
            try browser.open(f.server.baseURL + "/onboard/" + link.token)
            // WCAG 2.1 contrast of the button's text on its background, as Chromium draws them.
            let ratio = try browser.script("""
                function lum(c) { var v = c.match(/\\d+/g).slice(0, 3).map(function (x) { x = x / 255;
                  return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
                  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; }
                var s = getComputedStyle(document.getElementById('connect'));
                var a = lum(s.backgroundColor), b = lum(s.color);
                return [s.backgroundColor, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
                """) as? [Any]
            #expect(ratio?.first as? String == "rgb(255, 204, 0)", "\(String(describing: ratio))")
            #expect((ratio?.last as? Double ?? 0) >= 4.5, "\(String(describing: ratio))")
            // The focus ring sits on the white card: dark, as yellow on white could not be seen.
            #expect(browser.source.contains("button:focus-visible{outline-color:#111111}"))
            let text = try browser.script("return document.body.innerText") as? String ?? ""
            #expect(text.contains("help@acme.test") && text.contains("privacy policy") && text.contains("never pass through this page"))
            try browser.screenshot(to: TestEnvironment.repositoryRoot.appendingPathComponent(".data/test-artifacts/onboarding-brand-\(name).png"))
        }
        #expect(try browser.consoleLog().filter { $0.level == "SEVERE" }.isEmpty, "no console error (a favicon included)")
        // The page's script reported the person: opened, with onboarding.started once.
        #expect(try f.session(link)["status"] as? String == "opened")
        #expect(try f.events("onboarding.started").filter { $0["sessionId"] as? String == link.sessionID }.count == 1)

        // An expired link carries the brand and says whom to ask.
        let late = try f.link()
        try f.db.with { try $0.sql("UPDATE onboarding_sessions SET expires_at = now() - interval '1 second' WHERE id = \(late.sessionID)") }
        let expired = try f.server.send("GET", "/onboard/\(late.token)")
        #expect(expired.status == 410 && expired.text.contains("Ask Acme Health for a new one") && expired.text.contains("mailto:help@acme.test"))
    }

    @Test func onlyTheWABAThenANumberAndAReportedErrorInARealBrowser() throws {
        try #require(WebDriver.isInstalled, "ops/setup installs chromium and chromium-driver")
        let f = try OnboardingFixture()
        defer { f.close() }
        let (landing, redirects) = try landing(f)
        defer { landing.stop() }
        let browser = try WebDriver()
        defer { browser.close() }

        // FINISH_ONLY_WABA: the browser is told the number will follow; a number appears at
        // Meta and the session completes by itself.
        let link = try f.link(redirects)
        try signUp(browser, f.server.baseURL + "/onboard/" + link.token, press: "#finish-only-waba")
        let awaiting = "\(landing.base)/done?sessionId=\(link.sessionID)&status=awaiting_number"
        #expect(eventually(timeout: 40) { browser.currentURL == awaiting }, "landed on \(browser.currentURL)")
        let waba = try #require(try f.db.with {
            try $0.sql("SELECT waba_id FROM onboarding_sessions WHERE id = \(link.sessionID)").scalar(String.self)
        })
        let phone = try f.meta.post("/_fake/wabas/\(waba)/phones", "{}")["phoneNumberId"] as! String
        try f.db.with { try JobAdmin.runNow(kind: "onboarding.await_number", on: $0) }
        #expect(eventually(timeout: 30) { (try? f.session(link))?["status"] as? String == "completed" })
        let connection = try f.connection(try f.session(link)["connectionId"] as? String ?? "")
        #expect(try connection?.decode(String.self, "phone_number_id") == phone)

        // The person reports an error in Meta's window: the failure redirect, and what they said
        // is on the session and in the event.
        let failing = try f.link(redirects)
        try signUp(browser, f.server.baseURL + "/onboard/" + failing.token, press: "#report-error")
        let failed = "\(landing.base)/error?sessionId=\(failing.sessionID)&status=failed&reason=signup_error"
        #expect(eventually(timeout: 20) { browser.currentURL == failed }, "landed on \(browser.currentURL)")
        let session = try f.session(failing)
        #expect((session["failureDetail"] as? [String: Any])?["errorMessage"] as? String == "The phone number could not be verified")
        #expect((session["failureDetail"] as? [String: Any])?["errorId"] as? String == "524126")
        #expect(try f.events("onboarding.failed").last?["errorMessage"] as? String == "The phone number could not be verified")

        // An older SDK's ERROR event does the same.
        let legacy = try f.link(redirects)
        try signUp(browser, f.server.baseURL + "/onboard/" + legacy.token, press: "#report-error",
                   before: "document.getElementById('legacy').checked = true")
        let legacyFailed = "\(landing.base)/error?sessionId=\(legacy.sessionID)&status=failed&reason=signup_error"
        #expect(eventually(timeout: 20) { browser.currentURL == legacyFailed }, "landed on \(browser.currentURL)")

        // A page left open on a link that was replaced meanwhile: finishing in Meta's window
        // shows why the link leads nowhere now, rather than asking to try again.
        let replaced = try f.link(redirects)
        try browser.open(f.server.baseURL + "/onboard/" + replaced.token)
        #expect(eventually(timeout: 10) { (try? browser.script("return !!(window.FB && FB.login)")) as? Bool == true })
        #expect(try f.server.send("POST", "/api/v1/onboarding/sessions/\(replaced.sessionID)/link", key: f.key).status == 201)
        let page = browser.currentWindow
        try browser.click("#connect")
        #expect(eventually(timeout: 10) { browser.windowHandles.count == 2 }, "the Embedded Signup popup opened")
        if let popup = browser.windowHandles.first(where: { $0 != page }) {
            try browser.switchTo(window: popup)
            try browser.click("#finish")
            try browser.switchTo(window: page)
        }
        #expect(eventually(timeout: 20) { browser.source.contains("This link was replaced by a newer one") }, "\(browser.source.prefix(400))")
        #expect(browser.source.contains("Acme Health"), "said in the account's name")

        // A page left open on a link the account withdraws says so by itself, before anyone
        // goes through Meta's window for it.
        let withdrawn = try f.link(redirects)
        try browser.open(f.server.baseURL + "/onboard/" + withdrawn.token)
        #expect(eventually(timeout: 10) { browser.source.contains("id=\"connect\"") })
        #expect(try f.server.send("POST", "/api/v1/onboarding/sessions/\(withdrawn.sessionID)/cancel", key: f.key).status == 200)
        #expect(eventually(timeout: 25) { browser.source.contains("This link was withdrawn") }, "\(browser.source.prefix(300))")
        #expect(try f.session(replaced)["status"] as? String != "exchanging", "the old link's code was not taken")
    }

    @Test func thePageSpeaksTheTenantsLanguageUnderItsContentSecurityPolicy() throws {
        try #require(WebDriver.isInstalled, "ops/setup installs chromium and chromium-driver")
        let f = try OnboardingFixture()
        defer { f.close() }
        let (landing, redirects) = try landing(f)
        defer { landing.stop() }

        // Brazilian Portuguese from the browser's Accept-Language.
        let portuguese = try WebDriver(language: "pt-BR")
        defer { portuguese.close() }
        let link = try f.link(redirects)
        try portuguese.open(f.server.baseURL + "/onboard/" + link.token)
        #expect(eventually(timeout: 10) { (try? portuguese.script("return !!(window.FB && FB.login)")) as? Bool == true })
        #expect(try portuguese.script("return document.documentElement.lang") as? String == "pt-BR")
        #expect(try portuguese.script("return document.getElementById('connect').textContent") as? String == "Conectar o WhatsApp")
        try portuguese.screenshot(to: TestEnvironment.repositoryRoot.appendingPathComponent(".data/test-artifacts/onboarding-page-pt-BR.png"))
        try portuguese.click("#connect")
        #expect(eventually(timeout: 10) { portuguese.windowHandles.count == 2 })
        let errors = try portuguese.consoleLog().filter { $0.level == "SEVERE" }
        #expect(errors.isEmpty, "console errors: \(errors)")

        // Spanish because the session asks for it, whatever the browser prefers.
        let english = try WebDriver(language: "en-US")
        defer { english.close() }
        var spanish = redirects
        spanish["locale"] = "es"
        let es = try f.link(spanish)
        try english.open(f.server.baseURL + "/onboard/" + es.token)
        #expect(eventually(timeout: 10) { (try? english.script("return !!(window.FB && FB.login)")) as? Bool == true })
        #expect(try english.script("return document.documentElement.lang") as? String == "es")
        #expect(try english.script("return document.querySelector('h1').textContent") as? String == "Conectar WhatsApp para Clinic 42")
        try english.screenshot(to: TestEnvironment.repositoryRoot.appendingPathComponent(".data/test-artifacts/onboarding-page-es.png"))
        #expect(try english.consoleLog().filter { $0.level == "SEVERE" }.isEmpty)
        #expect(try f.meta.state()["sdkLocales"] as? [String] == ["pt_BR", "es_LA"], "Meta's SDK in the page's language")

        // The policy is in force: a script the page did not send is refused.
        let page = try f.server.send("GET", "/onboard/\(es.token)")
        let policy = try #require(page.header("Content-Security-Policy"))
        #expect(policy.contains("script-src 'nonce-") && policy.contains("default-src 'none'"))
        try english.script("var s = document.createElement('script'); s.textContent = 'window.injected = true'; document.body.appendChild(s)")
        #expect(try english.script("return window.injected === true") as? Bool == false)
        #expect(try english.consoleLog().contains { $0.message.contains("Content Security Policy") })

        // A link that leads nowhere says so in the same language: the session's, else the browser's.
        let hindi = try f.link(redirects.merging(["locale": "hi"]) { $1 })
        #expect(try f.server.send("POST", "/api/v1/onboarding/sessions/\(hindi.sessionID)/link", key: f.key).status == 201)
        let replaced = try f.server.send("GET", "/onboard/\(hindi.token)", headers: ["Accept-Language": "de"])
        #expect(replaced.status == 410 && replaced.text.contains("<html lang=\"hi\"") && replaced.text.contains("इस लिंक की जगह एक नया लिंक भेजा गया है"),
                "\(replaced.text.prefix(600))")
        #expect(try f.server.send("POST", "/api/v1/onboarding/sessions/\(es.sessionID)/cancel", key: f.key).status == 200)
        let withdrawn = try f.server.send("GET", "/onboard/\(es.token)", headers: ["Accept-Language": "de"])
        #expect(withdrawn.status == 410 && withdrawn.text.contains("<html lang=\"es\"") && withdrawn.text.contains("Este enlace fue retirado"),
                "\(withdrawn.text.prefix(600))")
        let missing = try f.server.send("GET", "/onboard/no-such-link", headers: ["Accept-Language": "fr-CA, en;q=0.5"])
        #expect(missing.status == 404 && missing.text.contains("<html lang=\"fr\"") && missing.text.contains("Ce lien n’existe pas"),
                "\(missing.text.prefix(600))")
    }
}
