import Foundation
import HTTPClient

/// Headless Chromium driven over the W3C WebDriver protocol by Debian's `chromedriver`: the
/// onboarding page meets a real browser (its script, the SDK, the popup, the redirects).
public final class WebDriver: @unchecked Sendable {
    // `@unchecked Sendable`: set once in init; one test drives it at a time.
    let driver: Process
    let base: String
    let sessionID: String

    public static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
    }

    /// A phone-sized window (390×844) unless told otherwise; `language` is what the browser
    /// asks for in `Accept-Language`.
    public init(width: Int = 390, height: Int = 844, language: String = "en-US") throws {
        let profile = try TestEnvironment.scratchDirectory("chromium")
        var started: (Process, String)?
        var lastError = ""
        for _ in 0..<5 where started == nil {
            let port = Int.random(in: 40_000...49_999)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/chromedriver")
            process.arguments = ["--port=\(port)", "--log-path=\(profile.path)/chromedriver.log"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let url = "http://127.0.0.1:\(port)"
            if eventually(timeout: 10, {
                do { return try WebDriver.http.send(.init(url: url + "/status"), deadline: Date().addingTimeInterval(2)).status == 200
                            || !process.isRunning } catch {
                    lastError = "\(error)"
                    return false
                }
            }),
               process.isRunning {
                started = (process, url)
            } else {
                process.terminate()
            }
        }
        guard let (process, url) = started else { throw SpawnError(message: "chromedriver did not start: \(lastError)") }
        driver = process
        base = url
        let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
            "browserName": "chrome",
            "goog:chromeOptions": [
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                         "--window-size=\(width),\(height)", "--user-data-dir=\(profile.path)/profile", "--lang=\(language)"],
                "prefs": ["intl.accept_languages": language],
            ],
            // The console, for tests that check a page logs no error (a CSP violation is one).
            "goog:loggingPrefs": ["browser": "ALL"],
        ]]]
        let answer = try WebDriver.call("POST", url + "/session", capabilities, timeout: 60)
        guard let id = (answer["value"] as? [String: Any])?["sessionId"] as? String else {
            process.terminate()
            throw SpawnError(message: "no WebDriver session: \(answer)")
        }
        sessionID = id
    }

    deinit { close() }

    public func close() {
        guard driver.isRunning else { return }
        _ = try? WebDriver.call("DELETE", "\(base)/session/\(sessionID)", nil, timeout: 10)
        driver.terminate()
        eventually(timeout: 5) { !self.driver.isRunning }
        if driver.isRunning { kill(driver.processIdentifier, SIGKILL) }
    }

    public func open(_ url: String) throws { try command("POST", "url", ["url": url]) }

    public var currentURL: String { (try? command("GET", "url")) as? String ?? "" }

    public var windowHandles: [String] { (try? command("GET", "window/handles")) as? [String] ?? [] }

    public var currentWindow: String { (try? command("GET", "window")) as? String ?? "" }

    /// Sets the window's outer size (a phone's width, say).
    public func resize(width: Int, height: Int) throws { try command("POST", "window/rect", ["width": width, "height": height]) }

    /// A cookie's value (HttpOnly ones too: the browser's jar, not the page's script).
    public func cookie(_ name: String) -> String? {
        ((try? command("GET", "cookie/\(name)")) as? [String: Any])?["value"] as? String
    }

    /// Types into the field `selector` (replacing what is there).
    public func type(_ text: String, into selector: String) throws {
        guard let found = try command("POST", "element", ["using": "css selector", "value": selector]) as? [String: Any],
              let element = found.values.first as? String else { throw SpawnError(message: "no element \(selector) at \(currentURL)") }
        _ = try command("POST", "element/\(element)/clear", [:])
        _ = try command("POST", "element/\(element)/value", ["text": text])
    }

    /// The page's HTML as the browser has it.
    public var source: String { (try? command("GET", "source")) as? String ?? "" }

    public func switchTo(window handle: String) throws { try command("POST", "window", ["handle": handle]) }

    /// Clicks the element a CSS selector finds, waiting for it to appear.
    public func click(_ selector: String, timeout: TimeInterval = 10) throws {
        var element: String?
        eventually(timeout: timeout) {
            let found = try? command("POST", "element", ["using": "css selector", "value": selector]) as? [String: Any]
            element = found?.values.first as? String
            return element != nil
        }
        guard let element else { throw SpawnError(message: "no element \(selector) at \(currentURL)") }
        try command("POST", "element/\(element)/click", [:])
    }

    /// What the pages logged to the console since the last call: (level, message).
    public func consoleLog() throws -> [(level: String, message: String)] {
        let entries = try command("POST", "se/log", ["type": "browser"]) as? [[String: Any]] ?? []
        return entries.map { ($0["level"] as? String ?? "", $0["message"] as? String ?? "") }
    }

    /// Runs a script in the page and returns its result.
    @discardableResult
    public func script(_ source: String) throws -> Any? {
        try command("POST", "execute/sync", ["script": source, "args": []])
    }

    public func screenshot(to file: URL) throws {
        guard let text = try command("GET", "screenshot") as? String, let png = Data(base64Encoded: text) else {
            throw SpawnError(message: "no screenshot")
        }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try png.write(to: file)
    }

    @discardableResult
    func command(_ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> Any? {
        let answer = try WebDriver.call(method, "\(base)/session/\(sessionID)/\(path)", body, timeout: 30)
        if let error = answer["value"] as? [String: Any], let code = error["error"] as? String {
            throw SpawnError(message: "WebDriver \(method) \(path): \(code): \(error["message"] ?? "")")
        }
        return answer["value"]
    }

    /// chromedriver writes headers as `Name:value`, which URLSession on Linux refuses; libcurl
    /// takes them.
    static let http = HTTPClient(allowPrivateTargets: true, maxResponseBytes: 32 << 20)

    static func call(_ method: String, _ url: String, _ body: [String: Any]?, timeout: TimeInterval) throws -> [String: Any] {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let result = try http.send(.init(method: method, url: url, headers: [("Content-Type", "application/json")], body: data),
                                   deadline: Date().addingTimeInterval(timeout))
        return (try? JSONSerialization.jsonObject(with: result.body)) as? [String: Any] ?? [:]
    }
}
