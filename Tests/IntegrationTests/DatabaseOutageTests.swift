import Foundation
import JobQueue
import Postgres
import TestSupport
import Testing

/// A worker whose database goes away keeps running, says so once, and carries on by itself
/// when the database is back.
@Suite(.serialized) struct DatabaseOutageTests {
    @Test func workersReconnectWithBackoffAndOneLinePerStateChange() throws {
        let cluster = try PrivateCluster()
        defer { cluster.stop() }
        let setup = try Connection.connect(cluster.url)
        let applied = try Migrator(directory: TestEnvironment.migrationsDirectory).migrate(setup)
        setup.close()
        #expect(applied.contains("001_jobs.sql"))
        func enqueueNoop() throws -> Int64 {
            let connection = try Connection.connect(cluster.url)
            defer { connection.close() }
            return try JobQueue.enqueueRaw(kind: "diag.noop", queue: "default", argsJSON: "{}", on: connection)!
        }
        func state(_ id: Int64) -> String? {
            guard let connection = try? Connection.connect(cluster.url) else { return nil }
            defer { connection.close() }
            return try? connection.sql("SELECT state FROM jobs WHERE id = \(id)").scalar(String.self)
        }

        let worker = try DualhookProcess(["work", "--queues", "default:2", "--reap-interval", "1"],
                                         databaseURL: cluster.url, environment: ["DUALHOOK_DIAG_KINDS": "1"])
        defer { worker.stop() }
        let before = try enqueueNoop()
        #expect(eventually(timeout: 10) { state(before) == "completed" })

        try cluster.kill()
        Thread.sleep(forTimeInterval: 4)
        #expect(worker.isRunning, "the worker must ride out the outage")
        #expect(worker.waitForLog("database unavailable", timeout: 5))

        try cluster.start()
        let after = try enqueueNoop()
        #expect(eventually(timeout: 20) { state(after) == "completed" })
        #expect(worker.waitForLog("database available again", timeout: 5))

        let log = worker.log
        func count(_ text: String) -> Int { log.components(separatedBy: text).count - 1 }
        #expect(count("database unavailable") == 1, "one line when the database went away:\n\(log)")
        #expect(count("database available again") == 1, "one line when it came back:\n\(log)")
        #expect(worker.isRunning)
    }
}
