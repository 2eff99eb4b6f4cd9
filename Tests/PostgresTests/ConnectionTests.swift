import Foundation
import Postgres
import TestSupport
import Testing

@Suite struct ConnectionTests {
    @Test func transactionRollsBackWhenTheBodyThrows() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        struct Boom: Error {}
        try db.with { connection throws in
            try connection.execute("CREATE TABLE t (id int PRIMARY KEY)")
            #expect(throws: Boom.self) {
                try connection.transaction { tx in
                    try tx.sql("INSERT INTO t VALUES (\(1))")
                    throw Boom()
                }
            }
            #expect(connection.isInTransaction == false)
            #expect(try connection.sql("SELECT count(*) FROM t").scalar(Int.self) == 0)
            try connection.transaction { tx in try tx.sql("INSERT INTO t VALUES (\(2))") }
            #expect(try connection.sql("SELECT count(*) FROM t").scalar(Int.self) == 1)
        }
    }

    /// A nested transaction() is refused: its COMMIT would have ended the outer one early.
    @Test func aNestedTransactionIsRefusedAndTheOuterOneStaysWhole() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        try db.with { connection throws in
            try connection.execute("CREATE TABLE t (id int PRIMARY KEY)")
            do {
                try connection.transaction { tx in
                    try tx.sql("INSERT INTO t VALUES (\(1))")
                    try tx.transaction { inner in try inner.sql("INSERT INTO t VALUES (\(2))") }
                }
                Issue.record("the nested transaction was not refused")
            } catch let error as PostgresError {
                #expect(error.kind == .nestedTransaction)
            }
            #expect(connection.isInTransaction == false)
            #expect(try connection.sql("SELECT count(*) FROM t").scalar(Int.self) == 0, "the outer transaction rolled back whole")
        }
    }

    @Test func uniqueViolationCarriesItsSQLState() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        try db.with { connection throws in
            try connection.execute("CREATE TABLE u (k text CONSTRAINT u_k UNIQUE)")
            try connection.sql("INSERT INTO u VALUES (\("secret-value"))")
            do {
                try connection.sql("INSERT INTO u VALUES (\("secret-value"))")
                Issue.record("expected a unique violation")
            } catch let error as PostgresError {
                #expect(error.isUniqueViolation)
                #expect(error.sqlState == "23505")
                #expect(error.constraint == "u_k")
                // The row's value stays in `detail`, out of the description that gets logged.
                #expect(!error.description.contains("secret-value"))
                #expect(error.detail?.contains("secret-value") == true)
            }
            // The connection is usable after a failed statement.
            #expect(try connection.sql("SELECT 1").scalar(Int.self) == 1)
        }
    }

    @Test func unreachableServerIsAConnectivityError() throws {
        do {
            _ = try Connection.connect("postgres://postgres@127.0.0.1:1/none", connectTimeout: 2)
            Issue.record("expected a connection failure")
        } catch let error as PostgresError {
            #expect(error.kind == .connectionFailed)
            #expect(error.isConnectivity)
        }
    }

    @Test func poolTimesOutWaitersWhenEveryConnectionIsLent() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        let pool = ConnectionPool(url: db.url, maxConnections: 1, acquireTimeout: 0.3)
        let held = try pool.acquire()
        let started = Date()
        do {
            _ = try pool.acquire()
            Issue.record("expected a pool timeout")
        } catch let error as PostgresError {
            #expect(error.kind == .poolTimeout)
        }
        #expect(Date().timeIntervalSince(started) >= 0.29)
        pool.release(held)
        #expect(try pool.withConnection { try $0.sql("SELECT 1").scalar(Int.self) } == 1)
    }

    @Test func poolReplacesAConnectionThatBroke() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        let pool = ConnectionPool(url: db.url, maxConnections: 1, acquireTimeout: 2)
        let firstPID = try pool.withConnection { $0.backendPID }
        try db.with { admin throws in
            try admin.sql("SELECT pg_terminate_backend(\(firstPID))")
            // The backend has gone (and closed its socket) before the pool is asked again.
            #expect(eventually(timeout: 10) {
                (try? admin.sql("SELECT count(*) FROM pg_stat_activity WHERE pid = \(firstPID)").scalar(Int.self)) == 0
            })
        }
        // The pooled connection is dead: the pool sees it without using it and hands out a
        // fresh one, so no statement fails for it.
        let secondPID = try pool.withConnection { connection throws -> Int32 in
            #expect(try connection.sql("SELECT 1").scalar(Int.self) == 1)
            return connection.backendPID
        }
        #expect(secondPID != firstPID)
        #expect(pool.stats.open == 1)
    }

    /// Every idle session ended at once (a restart, an idle-connection killer): the requests
    /// after it all succeed, on fresh sessions; none fails for a dead one.
    @Test func sessionsEndedWhileIdleAreReplacedWithoutAFailedStatement() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        let pool = ConnectionPool(url: db.url, maxConnections: 4, acquireTimeout: 2, applicationName: "idle-killed")
        let lent = try (0..<4).map { _ in try pool.acquire() }
        let before = Set(lent.map(\.backendPID))
        for connection in lent { pool.release(connection) }
        #expect(pool.stats.idle == 4)
        try db.with { admin throws in
            try admin.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'idle-killed'")
            #expect(eventually(timeout: 10) {
                (try? admin.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'idle-killed'").scalar(Int.self)) == 0
            })
        }
        var after = Set<Int32>()
        for _ in 0..<8 {
            after.insert(try pool.withConnection { connection throws -> Int32 in
                #expect(try connection.sql("SELECT 1").scalar(Int.self) == 1)
                return connection.backendPID
            })
        }
        #expect(after.isDisjoint(with: before))
        #expect(after.count == 1, "one fresh session, then reused: healthy ones are kept")
        #expect(pool.stats.open <= 4)
    }

    /// A healthy idle session is lent again, not replaced: the check reads nothing from it.
    @Test func aHealthyIdleSessionIsReused() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        let pool = ConnectionPool(url: db.url, maxConnections: 4)
        let pids = try Set((0..<50).map { _ in try pool.withConnection { connection throws -> Int32 in
            _ = try connection.sql("SELECT 1").scalar(Int.self)
            return connection.backendPID
        } })
        #expect(pids.count == 1 && pool.stats.open == 1)
    }

    @Test func listenerWakesOnNotifyWithoutPolling() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        let listener = try Listener(url: db.url)
        try listener.listen("jobs.default")
        let quiet = Date()
        #expect(try listener.wait(timeout: 0.2).isEmpty)
        #expect(Date().timeIntervalSince(quiet) >= 0.19)

        try db.with { connection throws in
            try connection.transaction { tx in
                try tx.sql("SELECT pg_notify(\("jobs.default"), \("hello"))")
                // Nothing is delivered before commit.
                #expect(try listener.wait(timeout: 0.1).isEmpty)
            }
        }
        let started = Date()
        let received = try listener.wait(timeout: 5)
        #expect(received == [Notification(channel: "jobs.default", payload: "hello")])
        #expect(Date().timeIntervalSince(started) < 1)
    }
}
