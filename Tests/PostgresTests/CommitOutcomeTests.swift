import Foundation
import Postgres
import TestSupport
import Testing

/// A connection lost while its COMMIT was in flight leaves the transaction's fate unknown: the
/// error says so, and a group commit does not write such a batch again caller by caller.
@Suite struct CommitOutcomeTests {
    /// Table `t`, where a negative id ends the session at COMMIT: a deferred constraint trigger,
    /// which runs as the transaction commits, terminates its own backend.
    func database() throws -> TestDatabase {
        let db = try TestDatabase(migrated: false, label: "pg")
        try db.with { connection throws in
            try connection.execute("CREATE TABLE t (id int PRIMARY KEY)")
            try connection.execute("""
                CREATE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(1); RETURN NULL; END $$
                """)
            try connection.execute("""
                CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW WHEN (NEW.id < 0) EXECUTE FUNCTION die_at_commit()
                """)
        }
        return db
    }

    @Test func aConnectionLostDuringCommitSaysTheOutcomeIsUnknown() throws {
        let db = try database()
        defer { db.drop() }
        let pool = ConnectionPool(url: db.url, maxConnections: 2)
        defer { pool.shutdown() }
        do {
            try pool.withConnection { connection in
                try connection.transaction { connection in try connection.sql("INSERT INTO t VALUES (\(-1))") }
            }
            Issue.record("the commit did not fail")
        } catch let error as PostgresError {
            #expect(error.isConnectivity)
            #expect(error.commitOutcomeUnknown)
            #expect("\(error)".contains("whether it committed is unknown"))
        }
        // Failures before the COMMIT are known: nothing was committed.
        do {
            try pool.withConnection { connection in
                try connection.transaction { connection in
                    try connection.sql("INSERT INTO t VALUES (\(1))")
                    try connection.execute("SELECT 1 / 0")
                }
            }
            Issue.record("the division did not fail")
        } catch let error as PostgresError {
            #expect(!error.commitOutcomeUnknown)
        }
        // The same for a statement sent with the COMMIT that the server refuses.
        do {
            try pool.withConnection { connection in
                try connection.transaction { connection in
                    _ = try connection.commit(with: ["INSERT INTO t VALUES (\(2)), (\(2))"])
                }
            }
            Issue.record("the duplicate did not fail")
        } catch let error as PostgresError {
            #expect(error.isUniqueViolation)
            #expect(!error.commitOutcomeUnknown)
        }
        // A connection lost before the COMMIT (the body swallowed the error) sends no COMMIT:
        // that failure leaves no doubt.
        do {
            try pool.withConnection { connection in
                try connection.transaction { connection in
                    try connection.sql("INSERT INTO t VALUES (\(3))")
                    _ = try? connection.execute("SELECT pg_terminate_backend(pg_backend_pid()), pg_sleep(1)")
                }
            }
            Issue.record("the commit on a lost connection did not fail")
        } catch let error as PostgresError {
            #expect(error.isConnectivity)
            #expect(!error.commitOutcomeUnknown)
        }
        try db.with { connection throws in
            #expect(try connection.sql("SELECT count(*) FROM t").scalar(Int.self) == 0)
        }
    }

    /// Callers 1000, then -1 and -2 sharing the next batch, whose COMMIT loses its connection:
    /// the items of each write, and each caller's error.
    func lostBatch(retryAlone: @escaping @Sendable (any Error) -> Bool = CommitBatcher<Int, Void>.mayRetry) throws
        -> (writes: [[Int]], errors: [(caller: Int, error: (any Error)?)], rows: String?) {
        let db = try database()
        defer { db.drop() }
        let pool = ConnectionPool(url: db.url, maxConnections: 4)
        defer { pool.shutdown() }
        // The first batch (row 1000 alone) waits until both other callers have queued, so they
        // share the second batch.
        let release = DispatchSemaphore(value: 0)
        let writes = LockedList<[Int]>()
        let batcher = CommitBatcher<Int, Void>(concurrency: 1, retryAlone: retryAlone) { (items: [Int], connection: Connection) throws -> Void in
            writes.append(items.sorted())
            if items == [1000] { _ = release.wait(timeout: .now() + 30) }
            try connection.sql("INSERT INTO t SELECT unnest(\(items)::int[])")
        }
        let errors = LockedList<(caller: Int, error: (any Error)?)>()
        let done = DispatchGroup()
        func submit(_ caller: Int) {
            done.enter()
            Thread.detachNewThread {
                do {
                    try batcher.submit([caller]) { body in try pool.withConnection(body) }
                    errors.append((caller, nil))
                } catch {
                    errors.append((caller, error))
                }
                done.leave()
            }
        }
        submit(1000)
        try #require(eventually(timeout: 10) { writes.all == [[1000]] })
        submit(-1)
        submit(-2)
        try #require(eventually(timeout: 10) { batcher.queuedCallers == 2 })
        release.signal()
        #expect(done.wait(timeout: .now() + 30) == .success)
        let rows = try db.with { connection throws in try connection.sql("SELECT array_agg(id ORDER BY id)::text FROM t").scalar(String.self) }
        return (writes.all, errors.all, rows)
    }

    @Test func aBatchWhoseCommitWasLostIsNotWrittenAgainCallerByCaller() throws {
        let (writes, errors, rows) = try lostBatch()
        #expect(writes == [[1000], [-2, -1]], "the lost batch was written once, not again per caller")
        let failed = errors.filter { $0.error != nil }
        #expect(Set(failed.map(\.caller)) == [-1, -2])
        #expect(failed.allSatisfy { ($0.error as? PostgresError)?.commitOutcomeUnknown == true })
        #expect(rows == "{1000}")
    }

    @Test func aBatcherWhoseWritesAreSafeToRepeatMayWriteThemAgain() throws {
        let (writes, errors, _) = try lostBatch(retryAlone: { _ in true })
        #expect(writes.count == 4)
        #expect(Set(writes.dropFirst(2)) == [[-1], [-2]], "each caller written again alone")
        #expect(errors.filter { $0.error != nil }.count == 2)
    }
}
