import Foundation
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
        let landing = try LoopbackServer { request in .text(200, "landed on \(request.path)") }
        defer { landing.stop() }
        let patched = try f.server.send("PATCH", "/api/v1/account", key: f.key, json: #"{"redirectOrigins":["\#(landing.base)"]}"#)
        #expect(patched.status == 200, "\(patched.text)")
        let redirects: [String: Any?] = ["successRedirectUrl": landing.base + "/done", "failureRedirectUrl": landing.base + "/error",
                                         "cancelRedirectUrl": landing.base + "/cancel"]
        let browser = try WebDriver()
        defer { browser.close() }

        func run(_ link: OnboardingFixture.Link, press button: String, screenshot: String? = nil) throws {
            try browser.open(f.server.baseURL + "/onboard/" + link.token)
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
            try browser.click(button)
            try browser.switchTo(window: page)
        }

        let link = try f.link(redirects)
        try run(link, press: "#finish", screenshot: "onboarding-page.png")
        let success = "\(landing.base)/done?sessionId=\(link.sessionID)&status=completed"
        #expect(eventually(timeout: 40) { browser.currentURL == success }, "landed on \(browser.currentURL)")
        let session = try f.session(link)
        #expect(session["status"] as? String == "completed")
        #expect(try f.connection(session["connectionId"] as? String ?? "")?.decode(String.self, "status") == "active")

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
}
