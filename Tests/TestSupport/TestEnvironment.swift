import Crypto
import Foundation
import Postgres

/// Where the test suite finds what `ops/test` set up: the Postgres cluster, the repository,
/// and the built `dualhook` binary.
public enum TestEnvironment {
    /// The checkout this file belongs to.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `DATABASE_URL` (ops/test exports it), else this checkout's cluster as `ops/pg start`
    /// runs it, on the port it remembered in `.data/pg.port`.
    public static var serverURL: String {
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty { return url }
        let file = repositoryRoot.appendingPathComponent(".data/pg.port")
        let port = (try? String(contentsOf: file, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 55432
        return "postgres://postgres@127.0.0.1:\(port)/dualhook"
    }

    /// `DUALHOOK_MASTER_KEYS` (ops/test exports it), else a key ring made for this test run.
    public static let masterKeys: String = {
        if let ring = ProcessInfo.processInfo.environment["DUALHOOK_MASTER_KEYS"], !ring.isEmpty { return ring }
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "test1:" + Data(bytes).base64EncodedString()
    }()

    /// The key ring above, for tests that seal or open what the binary does.
    public static var vault: Vault { try! Vault(keyRing: masterKeys) }

    public static var migrationsDirectory: URL { repositoryRoot.appendingPathComponent("sql") }

    /// `DUALHOOK_BIN`, else the debug build next to this checkout.
    public static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["DUALHOOK_BIN"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return repositoryRoot.appendingPathComponent(".build/debug/dualhook")
    }

    /// The same server with another database name (URL form, or conninfo where the last
    /// keyword wins).
    public static func url(_ base: String = serverURL, database: String) -> String {
        guard let scheme = base.range(of: "://") else { return base + " dbname=\(database)" }
        let rest = base[scheme.upperBound...]
        let hostEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let query = rest.firstIndex(of: "?").map { String(rest[$0...]) } ?? ""
        return base[..<hostEnd] + "/" + database + query
    }

    /// A directory for one test's files, removed by nobody: `ops/test` starts each run clean.
    public static func scratchDirectory(_ label: String) throws -> URL {
        let dir = repositoryRoot.appendingPathComponent(".data/test-scratch/\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
