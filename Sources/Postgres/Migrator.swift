import Foundation

/// Applies numbered SQL files (`001_jobs.sql`, `002_accounts.sql`, …) in order.
///
/// Each file runs in its own transaction and is recorded in `schema_migrations` with the
/// SHA-256 of its text; the whole run holds an advisory lock, so migrators started together
/// apply each file once. A file changed after it was applied is refused with a clear message:
/// a new migration is the way to change the schema.
public struct Migrator: Sendable {
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let sql: String
    }

    /// Key of the advisory lock that serialises migrators ("dualhook" in ASCII).
    static let lockKey: Int64 = 0x6475_616c_686f_6f6b

    public let migrations: [Migration]

    public init(migrations: [Migration]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Reads `NNN_name.sql` files from a directory.
    public init(directory: URL) throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw PostgresError(.migration, "cannot read the migrations directory \(directory.path)")
        }
        var migrations: [Migration] = []
        var seen: [Int: String] = [:]
        for name in names.sorted() where name.hasSuffix(".sql") {
            guard let version = Int(name.prefix { $0.isNumber }), name.first?.isNumber == true else {
                throw PostgresError(.migration, "migration file \(name) does not start with a number (NNN_name.sql)")
            }
            if let other = seen[version] {
                throw PostgresError(.migration, "migrations \(other) and \(name) share the number \(version)")
            }
            seen[version] = name
            guard let sql = try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) else {
                throw PostgresError(.migration, "cannot read migration \(name)")
            }
            migrations.append(Migration(version: version, name: name, sql: sql))
        }
        self.init(migrations: migrations)
    }

    /// Applies what is missing and returns the names of the files applied by this call.
    @discardableResult
    public func migrate(_ connection: Connection) throws -> [String] {
        try connection.query("SELECT pg_advisory_lock($1)", [Migrator.lockKey])
        defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [Migrator.lockKey]) }

        try connection.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        var applied: [Int: (name: String, checksum: String)] = [:]
        for row in try connection.query("SELECT version, name, checksum FROM schema_migrations").rows {
            applied[try row.decode(Int.self, at: 0)] = (try row.decode(String.self, at: 1), try row.decode(String.self, at: 2))
        }

        var done: [String] = []
        for migration in migrations {
            let checksum = try Migrator.checksum(migration.sql, on: connection)
            if let existing = applied[migration.version] {
                guard existing.checksum == checksum else {
                    throw PostgresError(.migration, """
                        migration \(migration.name) was edited after it was applied \
                        (applied checksum \(existing.checksum.prefix(12)), file now \(checksum.prefix(12))); \
                        restore the file and put the change in a new migration
                        """)
                }
                continue
            }
            do {
                try connection.transaction { tx in
                    try tx.execute(migration.sql)
                    try tx.query(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        [migration.version, migration.name, checksum])
                }
            } catch let error as PostgresError {
                throw PostgresError(.migration, "migration \(migration.name) failed: \(error.message)", sqlState: error.sqlState)
            }
            done.append(migration.name)
        }
        return done
    }

    /// SHA-256 computed by the server, so this module needs no crypto library of its own.
    static func checksum(_ sql: String, on connection: Connection) throws -> String {
        guard let value = try connection.query("SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')", [sql]).scalar(String.self) else {
            throw PostgresError(.migration, "checksum query returned nothing")
        }
        return value
    }
}
