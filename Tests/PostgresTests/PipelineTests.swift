import Foundation
import Postgres
import TestSupport
import Synchronization
import Testing

/// Statements sent together: BEGIN with a transaction's first statement, COMMIT with the
/// statements kept for it, and explicit pipelines.
@Suite struct PipelineTests {
    @Test func aPipelineAnswersInOrderAndAFailureSkipsTheRestAndRollsBack() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        try db.with { connection throws in
            try connection.execute("CREATE TABLE t (id int PRIMARY KEY, note text)")
            let answers = try connection.pipeline(["INSERT INTO t VALUES (\(1), \("one")) RETURNING id",
                                                   "SELECT count(*) FROM t", "SELECT note FROM t WHERE id = \(1)"])
            #expect(try answers.map { try $0.scalar(String.self) } == ["1", "1", "one"])
            // Inside a transaction: the second statement fails, the third is skipped, nothing is kept.
            do {
                try connection.transaction { tx in
                    try tx.pipeline(["INSERT INTO t VALUES (\(2), \("two"))", "INSERT INTO t VALUES (\(1), \("again"))",
                                     "INSERT INTO t VALUES (\(3), \("three"))"])
                }
                Issue.record("the duplicate key was not refused")
            } catch let error as PostgresError {
                #expect(error.sqlState == "23505")
            }
            #expect(connection.isInTransaction == false)
            #expect(try connection.sql("SELECT count(*) FROM t").scalar(Int.self) == 1)
            // The connection works as before afterwards.
            #expect(try connection.sql("SELECT note FROM t WHERE id = \(1)").scalar(String.self) == "one")
        }
    }

    /// A text parameter cannot carry U+0000 (libpq sends C strings): refused before anything
    /// is sent, by position and without the value, on every way a statement goes out; the
    /// connection and its transaction state stay as they were.
    @Test func aValueHoldingNULIsRefusedNotCut() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        try db.with { connection throws in
            try connection.execute("CREATE TABLE t (id int PRIMARY KEY, note text)")
            func refused(_ body: () throws -> Void) -> Bool {
                do { try body(); return false } catch let error as PostgresError {
                    return error.kind == .invalidParameter && error.message.contains("$2") && !error.message.contains("secret")
                } catch { return false }
            }
            let value = "secret\u{0}tail"
            #expect(refused { try connection.sql("INSERT INTO t VALUES (\(1), \(value))") })
            #expect(refused { try connection.sql("INSERT INTO t VALUES (\(2), \(value))") })
            #expect(refused { try connection.pipeline(["SELECT 1", "INSERT INTO t VALUES (\(3), \(value))"]) })
            #expect(refused {
                try connection.transaction { tx in
                    try tx.sql("INSERT INTO t VALUES (\(4), \("kept until the refusal"))")
                    _ = try tx.commit(with: ["INSERT INTO t VALUES (\(5), \(value))"])
                }
            })
            #expect(refused { try connection.transaction { tx in _ = try tx.sql("INSERT INTO t VALUES (\(6), \(value))") } })
            #expect(connection.isInTransaction == false)
            #expect(try connection.sql("SELECT count(*) FROM t").scalar(Int.self) == 0, "nothing cut short was written")
            try connection.sql("INSERT INTO t VALUES (\(7), \("secret\u{FFFD}tail"))")
            #expect(try connection.sql("SELECT note FROM t").scalar(String.self) == "secret\u{FFFD}tail")
        }
    }

    @Test func beginGoesWithTheFirstStatementAndKeptStatementsWithTheCommit() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        try db.with { connection throws in
            try connection.execute("CREATE TABLE t (id int PRIMARY KEY, note text)")
            // One transaction: its first statement and the one kept for the commit are both
            // in it (the same transaction id), and both are kept.
            let ids = try connection.transaction { tx -> [String] in
                #expect(tx.isInTransaction)
                try tx.beforeCommit("INSERT INTO t VALUES (\(2), txid_current()::text)")
                return try [tx.sql("INSERT INTO t VALUES (\(1), txid_current()::text) RETURNING note").scalar(String.self) ?? ""]
            }
            let notes = try connection.sql("SELECT note FROM t ORDER BY id").rows.map { try $0.decode(String.self, at: 0) }
            #expect(notes.count == 2 && Set(notes) == Set(ids), "one transaction: \(notes)")
            // A kept statement that fails takes the whole transaction with it.
            #expect(throws: PostgresError.self) {
                try connection.transaction { tx in
                    try tx.sql("INSERT INTO t VALUES (\(3), 'three')")
                    try tx.beforeCommit("INSERT INTO t VALUES (\(1), 'duplicate')")
                }
            }
            #expect(connection.isInTransaction == false)
            #expect(try connection.sql("SELECT count(*) FROM t").scalar(Int.self) == 2)
            // A transaction that sent nothing sends nothing; one that only keeps statements sends them.
            try connection.transaction { _ in }
            try connection.transaction { tx in try tx.beforeCommit("INSERT INTO t VALUES (\(4), 'kept')") }
            #expect(try connection.sql("SELECT note FROM t WHERE id = \(4)").scalar(String.self) == "kept")
            // A rolled-back transaction drops what it kept.
            struct Boom: Error {}
            #expect(throws: Boom.self) {
                try connection.transaction { tx in
                    try tx.beforeCommit("INSERT INTO t VALUES (\(5), 'dropped')")
                    throw Boom()
                }
            }
            #expect(try connection.sql("SELECT count(*) FROM t WHERE id = \(5)").scalar(Int.self) == 0)
            // In a transaction opened by hand there is no COMMIT of ours to go with: it runs now.
            try connection.execute("BEGIN")
            try connection.beforeCommit("INSERT INTO t VALUES (\(6), 'now')")
            #expect(try connection.sql("SELECT note FROM t WHERE id = \(6)").scalar(String.self) == "now")
            try connection.execute("COMMIT")
            #expect(try connection.sql("SELECT count(*) FROM t WHERE id = \(6)").scalar(Int.self) == 1)
        }
    }

    /// `commit(with:)` ends a transaction with its last statements in the round trip of the
    /// `COMMIT` and answers them; a failure among them keeps nothing.
    @Test func theLastStatementsGoWithTheCommitAndAreAnswered() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        try db.with { connection throws in
            try connection.execute("CREATE TABLE t (id int PRIMARY KEY, note text)")
            let other = try Connection.connect(db.url)
            defer { other.close() }
            let announced = Mutex(0)
            let answers = try connection.transaction { tx -> [String] in
                try tx.beforeCommit("INSERT INTO t VALUES (\(1), txid_current()::text)")
                tx.afterCommit { announced.withLock { $0 += 1 } }
                let results = try tx.commit(with: ["INSERT INTO t VALUES (\(2), txid_current()::text) RETURNING note",
                                                   "SELECT count(*)::text FROM t"])
                // Committed before the body returns: another session sees both rows now.
                #expect(try other.sql("SELECT count(*) FROM t").scalar(Int.self) == 2)
                #expect(announced.withLock { $0 } == 0, "after-commit actions run when the body returns")
                #expect(throws: PostgresError.self) { try tx.commit(with: ["SELECT 1"]) }
                return try results.map { try $0.scalar(String.self) ?? "" }
            }
            #expect(announced.withLock { $0 } == 1)
            let notes = try connection.sql("SELECT note FROM t ORDER BY id").rows.map { try $0.decode(String.self, at: 0) }
            #expect(notes.count == 2 && notes[0] == notes[1] && answers == [notes[1], "2"], "one transaction: \(notes) \(answers)")
            // A failing last statement keeps nothing of the transaction, sent before or with it.
            #expect(throws: PostgresError.self) {
                try connection.transaction { tx in
                    try tx.sql("INSERT INTO t VALUES (\(3), 'three')")
                    try tx.beforeCommit("INSERT INTO t VALUES (\(4), 'four')")
                    _ = try tx.commit(with: ["INSERT INTO t VALUES (\(1), 'duplicate')"])
                }
            }
            #expect(connection.isInTransaction == false)
            #expect(try connection.sql("SELECT count(*) FROM t").scalar(Int.self) == 2)
            // The same when the BEGIN and a statement timeout go in the failing round trip.
            connection.statementTimeout = 5000
            #expect(throws: PostgresError.self) {
                try connection.transaction { tx in
                    try tx.beforeCommit("INSERT INTO t VALUES (\(5), 'five')")
                    _ = try tx.commit(with: ["INSERT INTO t VALUES (\(6), 'six')", "INSERT INTO t VALUES (\(2), 'duplicate')"])
                }
            }
            #expect(connection.isInTransaction == false)
            #expect(try connection.sql("SELECT count(*) FROM t").scalar(Int.self) == 2)
            #expect(try connection.sql("SHOW statement_timeout").scalar(String.self) == "5s")
            connection.statementTimeout = nil
            // Nothing can be kept for a COMMIT that was sent, nor a transaction opened inside.
            try connection.transaction { tx in
                _ = try tx.commit(with: ["INSERT INTO t VALUES (\(7), 'seven')"])
                #expect(throws: PostgresError.self) { try tx.beforeCommit("INSERT INTO t VALUES (\(8), 'lost')") }
                #expect(throws: PostgresError.self) { try tx.transaction { _ in } }
            }
            #expect(try connection.sql("SELECT count(*) FROM t").scalar(Int.self) == 3)
            // Outside a transaction there is nothing to end.
            #expect(throws: PostgresError.self) { try connection.commit(with: ["SELECT 1"]) }
        }
    }

    /// A statement timeout travels with the next statement and is reset the same way; a
    /// rollback that undid it makes the next statement send it again.
    @Test func aStatementTimeoutGoesWithTheNextStatementAndSurvivesARollback() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        try db.with { connection throws in
            connection.statementTimeout = 100
            #expect(try connection.sql("SHOW statement_timeout").scalar(String.self) == "100ms")
            do {
                try connection.sql("SELECT pg_sleep(1)")
                Issue.record("the statement was not cut at its timeout")
            } catch let error as PostgresError {
                #expect(error.sqlState == "57014")
            }
            // Set with a transaction's BEGIN, undone by its rollback, and set again after it.
            connection.statementTimeout = 200
            struct Boom: Error {}
            #expect(throws: Boom.self) {
                try connection.transaction { tx in
                    #expect(try tx.sql("SHOW statement_timeout").scalar(String.self) == "200ms")
                    throw Boom()
                }
            }
            #expect(try connection.sql("SHOW statement_timeout").scalar(String.self) == "200ms")
            connection.statementTimeout = nil
            #expect(try connection.sql("SHOW statement_timeout").scalar(String.self) == "0")
            #expect(try connection.sql("SELECT pg_sleep(0.2)").rowCount == 1)
        }
    }
}
