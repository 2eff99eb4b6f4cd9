import Foundation
import Postgres
import Synchronization
import TestSupport
import Testing

/// Two checkouts on one machine each run their own embedded Postgres: `ops/pg` picks each a
/// port of its own and remembers it, so neither has to be told anything.
@Suite struct EmbeddedClusterTests {
    /// A checkout as far as `ops/pg` is concerned: its `ops/` scripts in a directory of its own.
    struct Checkout {
        let root: URL

        init(_ label: String) throws {
            root = try TestEnvironment.scratchDirectory(label)
            let ops = root.appendingPathComponent("ops")
            try FileManager.default.createDirectory(at: ops, withIntermediateDirectories: true)
            for script in ["pg", "lib.sh"] {
                try FileManager.default.copyItem(at: TestEnvironment.repositoryRoot.appendingPathComponent("ops/\(script)"),
                                                 to: ops.appendingPathComponent(script))
            }
        }

        /// `ops/pg COMMAND` as a newcomer runs it: no port, directory or database chosen.
        func pg(_ command: String) throws -> (status: Int32, output: String) {
            var environment = ProcessInfo.processInfo.environment
            for name in ["DUALHOOK_PG_PORT", "DUALHOOK_PG_DIR", "DUALHOOK_PG_DB", "DATABASE_URL"] { environment[name] = nil }
            let out = root.appendingPathComponent("pg-\(command).out").path
            // Run by bash rather than exec'd: the script was just copied, and a process forked
            // meanwhile by another test may still hold it open for writing (exec would fail
            // with ETXTBSY).
            let status = try spawnAndWait(["/bin/bash", root.appendingPathComponent("ops/pg").path, command],
                                          environment: environment, stdout: out)
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            return (status, text.trimmingCharacters(in: .whitespacesAndNewlines))
        }

        var rememberedPort: String? {
            (try? String(contentsOf: root.appendingPathComponent(".data/pg.port"), encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    @Test func twoCheckoutsStartSideBySideAndEachGetsItsOwnCluster() throws {
        let checkouts = [try Checkout("checkout-a"), try Checkout("checkout-b")]
        defer { for checkout in checkouts { _ = try? checkout.pg("stop") } }

        // Both at the same moment, as two terminals would.
        let results = Mutex<[Int: (Int32, String)]>([:])
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let result = (try? checkouts[i].pg("start")) ?? (-1, "")
            results.withLock { $0[i] = result }
        }
        let started = results.withLock { $0 }
        let urls = try (0..<2).map { i -> String in
            let (status, url) = try #require(started[i])
            try #require(status == 0, "checkout \(i): ops/pg start exited \(status)")
            return url
        }
        #expect(urls[0] != urls[1])

        for (checkout, url) in zip(checkouts, urls) {
            // The URL works and reaches this checkout's own cluster, not the other one's.
            let connection = try Connection.connect(url)
            let dataDirectory = try connection.sql("SELECT current_setting('data_directory')").scalar(String.self)
            connection.close()
            let own = checkout.root.appendingPathComponent(".data/pg").resolvingSymlinksInPath().path
            #expect(dataDirectory == own + "/data")
            // `url` agrees, and the port is remembered for the next start.
            #expect(try checkout.pg("url").output == url)
            #expect(url.contains(":\(try #require(checkout.rememberedPort))/"))
        }

        // Stopped and started again, a checkout keeps its port.
        #expect(try checkouts[0].pg("stop").status == 0)
        #expect(try checkouts[0].pg("status").status != 0)
        let again = try checkouts[0].pg("start")
        #expect(again.status == 0)
        #expect(again.output == urls[0])
    }
}
