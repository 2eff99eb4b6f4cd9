import Crypto
import Foundation
import Meta

/// The process environment as API.md's configuration table names it.
struct Environment: Sendable {
    let values: [String: String]

    init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    /// The embedded cluster `ops/pg` starts, when DATABASE_URL is not set: each checkout's
    /// cluster has a port of its own, remembered in `.data/pg.port` of the directory the
    /// command runs in (55432 when there is none).
    static var embeddedDatabaseURL: String {
        let file = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".data/pg.port")
        let text = (try? String(contentsOf: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let port = text.flatMap(Int.init) ?? 55432
        return "postgres://postgres@127.0.0.1:\(port)/dualhook"
    }

    var databaseURL: String { values["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? Environment.embeddedDatabaseURL }

    var listen: String { values["DUALHOOK_LISTEN"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1:8080" }
    var publicURL: String { values["DUALHOOK_PUBLIC_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080" }
    /// Development and tests only: http and private addresses allowed for outbound URLs.
    var allowPrivateTargets: Bool { values["DUALHOOK_ALLOW_PRIVATE_TARGETS"] == "1" }

    func setting(_ name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }

    /// The Meta app and Graph API the workers call; the defaults are the development values
    /// `dualhook fake-meta` knows, except the Graph URL, which is Meta's own.
    var graph: GraphClient.Configuration {
        GraphClient.Configuration(baseURL: setting("META_GRAPH_URL") ?? "https://graph.facebook.com",
                                  version: setting("META_GRAPH_VERSION") ?? "v25.0",
                                  appID: setting("META_APP_ID") ?? "1234567890",
                                  appSecret: setting("META_APP_SECRET") ?? "dev-app-secret")
    }

    /// How many deliveries of one account may be in flight at once, across every worker process.
    func eventSlotsPerAccount() throws -> Int {
        guard let text = setting("DUALHOOK_EVENT_SLOTS_PER_ACCOUNT") else { return 8 }
        guard let n = Int(text), (1...1000).contains(n) else {
            throw UsageError("DUALHOOK_EVENT_SLOTS_PER_ACCOUNT must be a whole number from 1 to 1000")
        }
        return n
    }

    /// How many days events and their attempts are kept.
    func eventRetentionDays() throws -> Int {
        guard let text = setting("DUALHOOK_EVENT_RETENTION_DAYS") else { return 30 }
        guard let n = Int(text), (1...3650).contains(n) else {
            throw UsageError("DUALHOOK_EVENT_RETENTION_DAYS must be a whole number of days from 1 to 3650")
        }
        return n
    }

    /// A duration setting in seconds (60 s to 30 days), or its default.
    func seconds(_ name: String, default value: Double) throws -> Double {
        guard let text = setting(name) else { return value }
        guard let n = Double(text), (60...2_592_000).contains(n) else {
            throw UsageError("\(name) must be a number of seconds from 60 to 2592000")
        }
        return n
    }

    /// The key ring for secrets at rest, or a one-line reason why there is none.
    func vault() throws -> Vault {
        guard let ring = values["DUALHOOK_MASTER_KEYS"], !ring.isEmpty else {
            throw UsageError("DUALHOOK_MASTER_KEYS is not set; in a checkout, ops/dev made a development key ring: export DUALHOOK_MASTER_KEYS=\"$(cat .data/master-keys)\"")
        }
        do { return try Vault(keyRing: ring) } catch { throw UsageError("\(error)") }
    }

    /// `DUALHOOK_ENV=development`: the development values of API.md stand in for missing
    /// settings. Anything else is production, which fails closed.
    var isDevelopment: Bool { values["DUALHOOK_ENV"] == "development" }

    /// The settings `serve` and `work` cannot run without in production: without them the app
    /// secret would be the public development one, and Meta's signatures would be checked
    /// against it. The first missing one is named (exit 2).
    static let requiredInProduction = ["META_APP_ID", "META_APP_SECRET", "META_CONFIG_ID", "META_WEBHOOK_VERIFY_TOKEN",
                                       "DUALHOOK_MASTER_KEYS"]

    func requireProductionSettings() throws {
        guard !isDevelopment else { return }
        if let missing = Environment.requiredInProduction.first(where: { setting($0) == nil }) {
            throw UsageError("\(missing) is not set (required unless DUALHOOK_ENV=development, which uses the development values)")
        }
    }

    /// Development-only job kinds (`diag.*`), for benchmarks and the test suite.
    var diagnosticKinds: Bool { values["DUALHOOK_DIAG_KINDS"] == "1" }

    /// Where the migrations are: `DUALHOOK_SQL_DIR`, `./sql`, a `sql/` above the executable
    /// (a checkout's `.build/…/dualhook`), or the packaged `/usr/share/dualhook/sql`.
    func migrationsDirectory() -> URL? {
        let fm = FileManager.default
        func hasMigrations(_ url: URL) -> Bool { fm.fileExists(atPath: url.appendingPathComponent("001_jobs.sql").path) }
        if let dir = values["DUALHOOK_SQL_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        let cwd = URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("sql")
        if hasMigrations(cwd) { return cwd }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent("sql")
            if hasMigrations(candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let packaged = URL(fileURLWithPath: "/usr/share/dualhook/sql")
        return hasMigrations(packaged) ? packaged : nil
    }
}
