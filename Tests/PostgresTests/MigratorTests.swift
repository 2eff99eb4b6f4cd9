import Foundation
import Postgres
import TestSupport
import Testing

@Suite struct MigratorTests {
    func write(_ files: [String: String]) throws -> URL {
        let dir = try TestEnvironment.scratchDirectory("migrations")
        for (name, sql) in files { try sql.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return dir
    }

    @Test func appliesInOrderOnceAndRefusesAnEditedFile() throws {
        let db = try TestDatabase(migrated: false, label: "mig")
        defer { db.drop() }
        let dir = try write([
            "002_more.sql": "ALTER TABLE a ADD COLUMN b int;",
            "001_first.sql": "CREATE TABLE a (id int); INSERT INTO a VALUES (1);",
        ])
        try db.with { connection throws in
            #expect(try Migrator(directory: dir).migrate(connection) == ["001_first.sql", "002_more.sql"])
            #expect(try Migrator(directory: dir).migrate(connection) == [])
            #expect(try connection.sql("SELECT count(*) FROM schema_migrations").scalar(Int.self) == 2)

            try "ALTER TABLE a ADD COLUMN c int;".write(to: dir.appendingPathComponent("002_more.sql"), atomically: true, encoding: .utf8)
            do {
                try Migrator(directory: dir).migrate(connection)
                Issue.record("an edited migration must be refused")
            } catch let error as PostgresError {
                #expect(error.kind == .migration)
                #expect(error.message.contains("002_more.sql was edited after it was applied"))
            }
        }
    }

    @Test func aFailingFileLeavesNothingBehind() throws {
        let db = try TestDatabase(migrated: false, label: "mig")
        defer { db.drop() }
        let dir = try write(["001_bad.sql": "CREATE TABLE half (id int); SELECT * FROM no_such_table;"])
        try db.with { connection throws in
            #expect(throws: PostgresError.self) { try Migrator(directory: dir).migrate(connection) }
            #expect(try connection.sql("SELECT to_regclass('half') IS NULL").scalar(Bool.self) == true)
            #expect(try connection.sql("SELECT count(*) FROM schema_migrations").scalar(Int.self) == 0)
        }
    }

    @Test func concurrentMigratorsApplyEachFileOnce() throws {
        let db = try TestDatabase(migrated: false, label: "mig")
        defer { db.drop() }
        let dir = try write([
            "001_a.sql": "CREATE TABLE a (id int); SELECT pg_sleep(0.2);",
            "002_b.sql": "CREATE TABLE b (id int);",
        ])
        let applied = LockedList<String>(), errors = LockedList<String>()
        let group = DispatchGroup()
        for _ in 0..<4 {
            DispatchQueue.global().async(group: group) {
                do {
                    let connection = try db.connect()
                    defer { connection.close() }
                    applied.append(contentsOf: try Migrator(directory: dir).migrate(connection))
                } catch {
                    errors.append("\(error)")
                }
            }
        }
        group.wait()
        #expect(errors.all.isEmpty)
        #expect(applied.all.sorted() == ["001_a.sql", "002_b.sql"])
    }
}
