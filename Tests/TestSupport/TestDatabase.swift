import Foundation
import Postgres

/// A database of its own for one test, created on the shared cluster and migrated, so tests
/// running side by side never see each other's rows.
public final class TestDatabase: Sendable {
    public let name: String
    public let url: String

    public init(migrated: Bool = true, label: String = "t") throws {
        let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        name = "dh_test_\(label)_\(suffix)"
        url = TestEnvironment.url(database: name)
        let admin = try Connection.connect(TestEnvironment.url(database: "postgres"))
        defer { admin.close() }
        try admin.execute("CREATE DATABASE \(try admin.quoteIdentifier(name))")
        if migrated {
            let connection = try connect()
            defer { connection.close() }
            try Migrator(directory: TestEnvironment.migrationsDirectory).migrate(connection)
        }
    }

    public func connect() throws -> Connection {
        try Connection.connect(url, applicationName: "dualhook-test")
    }

    /// Runs `body` on a fresh connection and closes it.
    @discardableResult
    public func with<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try connect()
        defer { connection.close() }
        return try body(connection)
    }

    public func drop() {
        guard let admin = try? Connection.connect(TestEnvironment.url(database: "postgres")) else { return }
        defer { admin.close() }
        _ = try? admin.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(name)")
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(try admin.quoteIdentifier(name))")
    }
}

/// The state of one job, or nil when there is no such job.
public func jobState(_ db: TestDatabase, _ id: Int64) throws -> String? {
    try db.with { try $0.sql("SELECT state FROM jobs WHERE id = \(id)").scalar(String.self) }
}

extension TestDatabase {
    /// The whole database as `pg_dump` writes it (plain SQL, data included).
    public func dump() throws -> String {
        let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .sorted { $0.compare($1, options: .numeric) == .orderedDescending }
            .map { "/usr/lib/postgresql/\($0)/bin/pg_dump" }
        guard let pgDump = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SpawnError(message: "no pg_dump under /usr/lib/postgresql")
        }
        let file = try TestEnvironment.scratchDirectory("dump").appendingPathComponent("\(name).sql")
        let status = try spawnAndWait([pgDump, "--no-owner", "--file", file.path, url], environment: ProcessInfo.processInfo.environment)
        guard status == 0 else { throw SpawnError(message: "pg_dump exited with \(status)") }
        return try String(contentsOf: file, encoding: .utf8)
    }
}
