import Foundation

/// The real `dualhook` binary running as a child process, its standard output and error
/// captured to a file the test can read while it runs.
public final class DualhookProcess: @unchecked Sendable {
    // `@unchecked Sendable`: `Process` is only driven from the test that owns this object;
    // the log is re-read from disk on each access.
    public let process: Process
    public let logFile: URL
    public let arguments: [String]

    public init(_ arguments: [String], databaseURL: String, environment extra: [String: String] = [:],
                label: String? = nil) throws {
        self.arguments = arguments
        let dir = try TestEnvironment.scratchDirectory("logs")
        logFile = dir.appendingPathComponent("\(label ?? arguments.first ?? "dualhook").log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        process = Process()
        process.executableURL = TestEnvironment.binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL
        environment["DUALHOOK_SQL_DIR"] = TestEnvironment.migrationsDirectory.path
        if environment["DUALHOOK_MASTER_KEYS"] == nil { environment["DUALHOOK_MASTER_KEYS"] = TestEnvironment.masterKeys }
        // The tests run against the fake Meta's development values.
        if environment["DUALHOOK_ENV"] == nil { environment["DUALHOOK_ENV"] = "development" }
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    public func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit; returns its status, or nil when it is still running.
    @discardableResult
    public func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Waits until the log contains `text`.
    public func waitForLog(_ text: String, timeout: TimeInterval = 10) -> Bool {
        eventually(timeout: timeout) { self.log.contains(text) }
    }

    public func stop() {
        guard process.isRunning else { return }
        signal(SIGTERM)
        if waitForExit(timeout: 10) == nil { signal(SIGKILL); waitForExit(timeout: 5) }
    }

    /// Runs the binary to completion: its exit status and everything it printed.
    public static func run(_ arguments: [String], databaseURL: String, environment: [String: String] = [:],
                           timeout: TimeInterval = 60) throws -> (status: Int32, output: String) {
        let child = try DualhookProcess(arguments, databaseURL: databaseURL, environment: environment)
        guard let status = child.waitForExit(timeout: timeout) else {
            child.signal(SIGKILL)
            return (-1, child.log)
        }
        return (status, child.log)
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held. The pause
/// starts at 20 ms and grows to 200 ms, so a condition read through the API does not spend the
/// key's 600 requests a minute while it waits for something slow (a 15 s wait polled every 20 ms
/// ran the key into 429s, and every read after it failed with them).
@discardableResult
public func eventually(timeout: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    var pause = 0.02
    while true {
        if try condition() { return true }
        if Date() >= deadline { return false }
        Thread.sleep(forTimeInterval: min(pause, max(0, deadline.timeIntervalSinceNow)))
        pause = min(pause * 1.25, 0.2)
    }
}
