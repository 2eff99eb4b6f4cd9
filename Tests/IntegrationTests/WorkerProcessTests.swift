import Dualhook
import Foundation
import JobQueue
import Postgres
import TestSupport
import Testing

/// The `dualhook` binary as operators run it: several worker processes over one queue,
/// killed, stopped, starved of their database.
@Suite(.serialized) struct WorkerProcessTests {
    static let diag = ["DUALHOOK_DIAG_KINDS": "1"]

    /// `start|done <job> <attempt> <worker>` lines written by `diag.touch`.
    struct TouchLine: Hashable {
        let phase: String
        let job: Int64
        let attempt: Int
        let worker: String
    }

    static func touches(_ file: URL) -> [TouchLine] {
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 4, let job = Int64(parts[1]), let attempt = Int(parts[2]) else { return nil }
            return TouchLine(phase: String(parts[0]), job: job, attempt: attempt, worker: String(parts[3]))
        }
    }

    static func touchArgs(_ file: URL, sleep: Double = 0, honorDeadline: Bool = true) -> String {
        #"{"file":"\#(file.path)","sleep":\#(sleep),"honorDeadline":\#(honorDeadline)}"#
    }

    @Test func fourWorkersRunTenThousandJobsExactlyOnce() throws {
        let db = try TestDatabase(label: "int")
        defer { db.drop() }
        let file = try TestEnvironment.scratchDirectory("exactly-once").appendingPathComponent("touch.log")
        try db.with { connection throws in
            try connection.transaction { tx in
                try JobQueue.enqueueManyRaw(kind: "diag.touch", queue: "default",
                                            argsJSON: Array(repeating: Self.touchArgs(file), count: 10_000),
                                            maxAttempts: 4, timeout: 30, on: tx)
            }
        }
        let workers = try (0..<4).map { i in
            try DualhookProcess(["work", "--queues", "default:8", "--reap-interval", "1"], databaseURL: db.url,
                                environment: Self.diag, label: "worker\(i)")
        }
        let finished = eventually(timeout: 180) {
            (try? db.with { try $0.sql("SELECT count(*) FROM jobs WHERE state = 'completed'").scalar(Int.self) }) == 10_000
        }
        for worker in workers { worker.stop() }
        #expect(finished, "not every job completed")
        #expect(workers.allSatisfy { $0.process.terminationStatus == 0 })

        let lines = Self.touches(file)
        let starts = Dictionary(grouping: lines.filter { $0.phase == "start" }, by: \.job)
        let dones = Dictionary(grouping: lines.filter { $0.phase == "done" }, by: \.job)
        #expect(starts.count == 10_000)
        #expect(starts.values.allSatisfy { $0.count == 1 }, "a job started twice")
        #expect(dones.count == 10_000)
        #expect(dones.values.allSatisfy { $0.count == 1 }, "a job finished twice")
        try db.with { connection throws in
            let row = try connection.sql("""
                SELECT count(*) FILTER (WHERE attempt <> 1), count(DISTINCT locked_by) FROM jobs
                """)[0]
            #expect(try row.decode(Int.self, at: 0) == 0)
            #expect(try row.decode(Int.self, at: 1) == 4, "every worker process took part")
        }
    }

    @Test func aJobOfAKilledWorkerRunsAgainAfterItsLease() throws {
        let db = try TestDatabase(label: "int")
        defer { db.drop() }
        let file = try TestEnvironment.scratchDirectory("sigkill").appendingPathComponent("touch.log")
        let id = try db.with { connection throws in
            try JobQueue.enqueueRaw(kind: "diag.touch", queue: "default", argsJSON: Self.touchArgs(file, sleep: 1.5),
                                    maxAttempts: 4, timeout: 2, on: connection)!
        }
        let first = try DualhookProcess(["work", "--queues", "default:1", "--lease-margin", "1"], databaseURL: db.url,
                                        environment: Self.diag, label: "doomed")
        #expect(eventually(timeout: 15) { Self.touches(file).contains { $0.phase == "start" } })
        first.signal(SIGKILL)
        first.waitForExit(timeout: 5)
        let second = try DualhookProcess(["work", "--queues", "default:1", "--reap-interval", "0.5"], databaseURL: db.url,
                                         environment: Self.diag, label: "survivor")
        defer { second.stop() }
        #expect(eventually(timeout: 30) { (try? jobState(db, id)) == "completed" })

        let lines = Self.touches(file)
        #expect(lines.filter { $0.phase == "start" }.map(\.attempt) == [1, 2])
        #expect(lines.filter { $0.phase == "done" }.map(\.attempt) == [2])
        #expect(Set(lines.map(\.worker)).count == 2, "another worker ran it the second time")
        let lastError = try db.with { try $0.sql("SELECT errors->0->>'error' FROM jobs WHERE id = \(id)").scalar(String.self) }
        #expect(lastError?.contains("lease expired") == true)
    }

    @Test func aHungHandlerIsStoppedAtItsTimeoutAndRetriedOnSchedule() throws {
        let db = try TestDatabase(label: "int")
        defer { db.drop() }
        let file = try TestEnvironment.scratchDirectory("timeout").appendingPathComponent("touch.log")
        // diag.touch retries after 1 s, 2 s and 3 s; this one sleeps through every deadline.
        let id = try db.with { connection throws in
            try JobQueue.enqueueRaw(kind: "diag.touch", queue: "default",
                                    argsJSON: Self.touchArgs(file, sleep: 60, honorDeadline: false),
                                    maxAttempts: 4, timeout: 1, on: connection)!
        }
        // One slot only: the worker must replace the stuck thread to run anything else.
        let worker = try DualhookProcess(["work", "--queues", "default:1"], databaseURL: db.url, environment: Self.diag)
        defer { worker.stop() }
        #expect(eventually(timeout: 40) { (try? jobState(db, id)) == "discarded" })

        struct Attempt: Decodable {
            let attempt: Int
            let at: String
            let error: String
            let retry_at: String?
        }
        let json = try db.with { try $0.sql("SELECT errors::text FROM jobs WHERE id = \(id)").scalar(String.self)! }
        let attempts = try JSONDecoder().decode([Attempt].self, from: Data(json.utf8))
        #expect(attempts.map(\.attempt) == [1, 2, 3, 4])
        #expect(attempts.allSatisfy { $0.error == "timed out after 1 s" })
        let gaps = try db.with { connection throws in
            try connection.sql("""
                SELECT extract(epoch FROM (e->>'retry_at')::timestamptz - (e->>'at')::timestamptz)::float8
                FROM jobs, jsonb_array_elements(errors) e WHERE id = \(id) AND e ? 'retry_at' AND e->>'retry_at' IS NOT NULL
                ORDER BY (e->>'attempt')::int
                """).rows.map { try $0.decode(Double.self, at: 0) }
        }
        #expect(gaps == [1, 2, 3])
        #expect(attempts.last?.retry_at == nil)

        // The stuck threads no longer hold the only slot.
        let next = try db.with { try JobQueue.enqueueRaw(kind: "diag.noop", queue: "default", argsJSON: "{}", on: $0)! }
        #expect(eventually(timeout: 10) { (try? jobState(db, next)) == "completed" })
    }

    @Test func aHandlerStuckInADatabaseCallIsCutByItsStatementTimeoutAndRetried() throws {
        let db = try TestDatabase(label: "int")
        defer { db.drop() }
        let id = try db.with { connection throws in
            try JobQueue.enqueueRaw(kind: "diag.sleep_in_database", queue: "default", argsJSON: #"{"seconds":60}"#,
                                    maxAttempts: 3, timeout: 2, on: connection)!
        }
        func sleeping() -> Int? {
            try? db.with { try $0.sql("""
                SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'
                  AND query LIKE 'SELECT pg_sleep%'
                """).scalar(Int.self) }
        }
        let worker = try DualhookProcess(["work", "--queues", "default:1"], databaseURL: db.url, environment: Self.diag)
        defer { worker.stop() }
        #expect(eventually(timeout: 10) { sleeping() == 1 }, "the first attempt waits in the database")
        // Without its statement timeout the call would go on for 60 s after the 2 s deadline;
        // it is cut there, and the job is retried on its schedule until its attempts are spent.
        #expect(eventually(timeout: 20) { (try? jobState(db, id)) == "discarded" })
        let attempts = try db.with { try $0.sql("SELECT attempt FROM jobs WHERE id = \(id)").scalar(Int.self) }
        #expect(attempts == 3)
        #expect(eventually(timeout: 3) { sleeping() == 0 }, "no statement outlives its attempt")
        #expect(worker.isRunning)
    }

    @Test func stuckHandlersCannotGrowTheWorkersThreadsWithoutBound() throws {
        let db = try TestDatabase(label: "int")
        defer { db.drop() }
        let file = try TestEnvironment.scratchDirectory("stuck").appendingPathComponent("touch.log")
        let worker = try DualhookProcess(["work", "--queues", "default:1", "--max-stuck", "1"], databaseURL: db.url,
                                         environment: Self.diag)
        defer { worker.stop() }
        /// The worker process's threads, as the kernel counts them.
        func threads() -> Int? {
            (try? String(contentsOfFile: "/proc/\(worker.pid)/status", encoding: .utf8))?
                .split(separator: "\n").first { $0.hasPrefix("Threads:") }
                .flatMap { Int($0.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) }
        }
        #expect(eventually(timeout: 10) { worker.log.contains("worker started") })
        Thread.sleep(forTimeInterval: 1)
        let idle = try #require(threads())
        // Two handlers that ignore their 1 s deadline for 8 s, then two quick jobs behind them.
        let ids = try db.with { connection throws -> [Int64] in
            var ids: [Int64] = []
            for _ in 0..<2 {
                ids.append(try JobQueue.enqueueRaw(kind: "diag.touch", queue: "default",
                                                   argsJSON: Self.touchArgs(file, sleep: 8, honorDeadline: false),
                                                   maxAttempts: 1, timeout: 1, on: connection)!)
            }
            for _ in 0..<2 {
                ids.append(try JobQueue.enqueueRaw(kind: "diag.touch", queue: "default", argsJSON: Self.touchArgs(file, sleep: 0),
                                                   on: connection)!)
            }
            return ids
        }
        // The first stuck handler gets a replacement thread; the second, past the cap (one
        // here), does not: its slot stays empty and is reported, and the quick jobs wait.
        #expect(eventually(timeout: 10) { worker.log.contains("stuck handlers") })
        #expect(threads() == idle + 1, "one replacement thread, no more")
        #expect(try jobState(db, ids[2]) == "available" && jobState(db, ids[3]) == "available")
        // When a stuck handler returns, its thread takes the empty slot and the queue moves again.
        #expect(eventually(timeout: 20) { (try? jobState(db, ids[2])) == "completed" && (try? jobState(db, ids[3])) == "completed" })
        #expect(try jobState(db, ids[0]) == "discarded" && jobState(db, ids[1]) == "discarded")
        #expect(eventually(timeout: 10) { threads() == idle }, "back to one thread for the slot")
    }

    @Test func sigtermLetsRunningJobsFinishAndHandsTheRestBack() throws {
        let db = try TestDatabase(label: "int")
        defer { db.drop() }
        let file = try TestEnvironment.scratchDirectory("sigterm").appendingPathComponent("touch.log")
        let (short, long, waiting) = try db.with { connection throws in
            (try (0..<2).map { _ in
                try JobQueue.enqueueRaw(kind: "diag.touch", queue: "default", argsJSON: Self.touchArgs(file, sleep: 1.5),
                                        maxAttempts: 4, timeout: 30, on: connection)!
            },
             try JobQueue.enqueueRaw(kind: "diag.touch", queue: "default", argsJSON: Self.touchArgs(file, sleep: 60),
                                     maxAttempts: 4, timeout: 120, on: connection)!,
             try (0..<5).map { _ in
                try JobQueue.enqueueRaw(kind: "diag.touch", queue: "default", argsJSON: Self.touchArgs(file),
                                        maxAttempts: 4, timeout: 30, options: JobOptions(priority: 1), on: connection)!
            })
        }
        let worker = try DualhookProcess(["work", "--queues", "default:3", "--grace", "3"], databaseURL: db.url,
                                         environment: Self.diag)
        #expect(eventually(timeout: 15) { Self.touches(file).filter { $0.phase == "start" }.count == 3 })
        let stopped = Date()
        worker.signal(SIGTERM)
        let status = worker.waitForExit(timeout: 15)
        #expect(status == 0)
        #expect(Date().timeIntervalSince(stopped) < 6)

        let lines = Self.touches(file)
        #expect(Set(lines.filter { $0.phase == "done" }.map(\.job)) == Set(short), "running jobs finished")
        for id in short { #expect(try jobState(db, id) == "completed") }
        try db.with { connection throws in
            let row = try connection.sql("SELECT state, attempt, last_error FROM jobs WHERE id = \(long)")[0]
            #expect(try row.decode(String.self, at: 0) == "available")
            #expect(try row.decode(Int.self, at: 1) == 0, "a handed-back attempt does not count")
            #expect(try row.decode(String?.self, at: 2)?.contains("interrupted") == true)
            #expect(try connection.sql("SELECT count(*) FROM jobs WHERE id = ANY(\(waiting)::bigint[]) AND state = 'available' AND attempt = 0").scalar(Int.self) == 5)
            #expect(try connection.sql("SELECT count(*) FROM jobs WHERE state = 'running'").scalar(Int.self) == 0)
        }
        #expect(worker.log.contains("worker stopped"))
    }

    @Test func twoSchedulerProcessesEnqueueOneSweepPerPeriod() throws {
        let db = try TestDatabase(label: "int")
        defer { db.drop() }
        let schedulers = try (0..<2).map { i in
            try DualhookProcess(["schedule"], databaseURL: db.url, environment: ["DUALHOOK_SWEEP_PRUNE_SECONDS": "1"],
                                label: "scheduler\(i)")
        }
        Thread.sleep(forTimeInterval: 3.5)
        for scheduler in schedulers { scheduler.stop() }
        #expect(schedulers.allSatisfy { $0.process.terminationStatus == 0 })
        try db.with { connection throws in
            let row = try connection.sql("""
                SELECT count(*), count(DISTINCT unique_key), (SELECT count(*) FROM job_periods WHERE name = 'prune')
                FROM jobs WHERE kind = 'sweep.prune'
                """)[0]
            let jobs: Int = try row.decode(at: 0)
            #expect(jobs >= 3 && jobs <= 5)
            #expect(try row.decode(Int.self, at: 1) == jobs)
            #expect(try row.decode(Int.self, at: 2) == jobs)
        }
    }

    @Test func badArgumentsExitTwoWithOneLine() throws {
        let db = try TestDatabase(label: "int")
        defer { db.drop() }
        for args in [["work", "--concurrency", "0"], ["work", "--queues", "nope"], ["jobs", "list", "--state", "weird"],
                     ["frobnicate"], ["sweep", "no-such-sweep"], ["jobs", "retry", "abc"], ["work", "--bogus"],
                     // As PATCH /api/v1/account refuses them.
                     ["accounts", "create", "--name", "X", "--event-url", "ftp://x"],
                     ["accounts", "create", "--name", "X", "--event-url", "https://user:pass@hooks.example.com/x"]] {
            let (status, output) = try DualhookProcess.run(args, databaseURL: db.url)
            #expect(status == 2, "\(args)")
            let lines = output.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("dualhook: "), "\(args): \(output)")
        }
        let keyless = try DualhookProcess.run(["serve", "--listen", "127.0.0.1:1"], databaseURL: db.url,
                                              environment: ["DUALHOOK_MASTER_KEYS": ""])
        #expect(keyless.status == 2 && keyless.output.contains("DUALHOOK_MASTER_KEYS is not set"))
        #expect(keyless.output.contains("export DUALHOOK_MASTER_KEYS="), "it says how to use the development key ring")
        #expect(try DualhookProcess.run(["migrate"], databaseURL: db.url).status == 0)
        #expect(try DualhookProcess.run(["work", "--help"], databaseURL: db.url).output.contains("--queues"))
        #expect(try DualhookProcess.run(["jobs", "--help"], databaseURL: db.url).output.contains("--spacing"))
    }

    @Test func operatorsSeeJobsAndAccountsWithoutSecrets() throws {
        let db = try TestDatabase(label: "int")
        defer { db.drop() }
        func run(_ args: [String]) throws -> (status: Int32, output: String) {
            try DualhookProcess.run(args, databaseURL: db.url, environment: ["DUALHOOK_DIAG_KINDS": "1"])
        }
        // Made here, not with `accounts create`, whose answer (the key, shown once) would land in the run's log.
        let account = try db.with {
            try AccountStore.create(name: "Clinic Co", displayName: "Clinic", logoURL: nil, eventURL: nil, redirectOrigins: [],
                                    vault: TestEnvironment.vault, on: $0)
        }
        let listed = try run(["accounts", "list"])
        #expect(listed.status == 0 && listed.output.contains("Clinic Co") && listed.output.contains(account.accountId))
        #expect(!listed.output.contains(account.apiKey) && !listed.output.contains("whsec_"))
        let keys = try run(["keys", "list", "--account", account.accountId])
        #expect(keys.status == 0 && keys.output.contains(String(account.apiKey.prefix(12))) && !keys.output.contains(account.apiKey))
        let noAccount = try run(["keys", "list", "--account", "acc_nope"])
        #expect(noAccount.status == 1 && noAccount.output.contains("no account acc_nope"), "as keys create answers")

        // A job whose arguments hold a secret-like field and a sealed value.
        let enqueued = try run(["jobs", "enqueue", "diag.noop", "--args", #"{"accessToken":"EAAG-secret","note":"v1:k1:abc","sessionId":"ses_1"}"#])
        #expect(enqueued.status == 0)
        let id = enqueued.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let shown = try run(["jobs", "show", id])
        #expect(shown.status == 0 && shown.output.contains("diag.noop") && shown.output.contains("ses_1"), "\(shown.output)")
        #expect(!shown.output.contains("EAAG-secret") && !shown.output.contains("v1:k1:abc") && shown.output.contains("[hidden]"))
        let json = try run(["jobs", "show", id, "--json"])
        let detail = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect((detail?["args"] as? [String: Any])?["accessToken"] as? String == "[hidden]")
        #expect(try run(["jobs", "show", "999999"]).status == 1)

        // Listing by queue, and states as `jobs stats` counts them.
        #expect(try run(["jobs", "enqueue", "diag.noop", "--queue", "later", "--delay", "3600"]).status == 0)
        let byQueue = try run(["jobs", "list", "--queue", "later", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(byQueue.output.utf8)) as? [[String: Any]])?.count == 1)
        // A misspelt queue or kind lists nothing, and says so: no registered kind has it.
        let typo = try run(["jobs", "list", "--queue", "evnts"])
        #expect(typo.status == 0 && typo.output.contains("(none)") && typo.output.contains("no registered kind uses queue evnts (known: "),
                "\(typo.output)")
        let typoKind = try run(["jobs", "list", "--kind", "events.delivr", "--json"])
        #expect(typoKind.status == 0 && typoKind.output.contains("no registered kind is called events.delivr (known: "), "\(typoKind.output)")
        #expect(try !run(["jobs", "list", "--queue", "later"]).output.contains("no registered kind"), "a hand-made queue with jobs lists them")
        let scheduled = try run(["jobs", "list", "--state", "scheduled", "--json"])
        let scheduledJobs = try JSONSerialization.jsonObject(with: Data(scheduled.output.utf8)) as? [[String: Any]]
        #expect(scheduledJobs?.map { $0["queue"] as? String } == ["later"])
        #expect(scheduledJobs?.map { $0["state"] as? String } == ["scheduled"], "shown in the state it was listed by")
        let later = try #require(scheduledJobs?.first?["id"] as? Int)
        #expect(try run(["jobs", "show", "\(later)"]).output.contains("on later, scheduled,"))
        let due = try JSONSerialization.jsonObject(with: Data(try run(["jobs", "list", "--state", "available", "--json"]).output.utf8)) as? [[String: Any]]
        #expect(due?.count == 1 && due?.first?["queue"] as? String != "later" && due?.first?["state"] as? String == "available")

        // One job per transaction, the given seconds apart, from one process.
        let spaced = try run(["jobs", "enqueue", "diag.noop", "--queue", "spaced", "--count", "3", "--spacing", "0.2"])
        #expect(spaced.status == 0, "\(spaced.output)")
        let gaps = try db.with {
            try $0.sql("""
                SELECT extract(epoch FROM created_at - lag(created_at) OVER (ORDER BY id))::float8 FROM jobs
                WHERE queue = 'spaced' ORDER BY id
                """).rows.compactMap { try $0.decode(Double?.self, at: 0) }
        }
        #expect(gaps.count == 2 && gaps.allSatisfy { $0 >= 0.2 }, "\(gaps)")
        let spacedKey = try run(["jobs", "enqueue", "diag.noop", "--count", "2", "--spacing", "0.1", "--unique-key", "k"])
        #expect(spacedKey.status == 2 && spacedKey.output.contains("--unique-key"))

        let unknown = try run(["jobs", "enqueue", "no.such.kind"])
        #expect(unknown.status == 2 && unknown.output.contains("unknown job kind no.such.kind"))
        let sweepHelp = try run(["sweep", "--help"])
        #expect(sweepHelp.output.contains("sweeps:") && sweepHelp.output.contains("prune"))

        // A pause shows where an operator on a shell looks: `jobs stats`, as text and JSON.
        #expect(try run(["jobs", "stats"]).output.split(separator: "\n").allSatisfy { !$0.contains("since") })
        let paused = try run(["jobs", "pause", "meta"])
        #expect(paused.status == 0 && paused.output.contains("queue meta paused"), "\(paused.output)")
        #expect(try run(["jobs", "pause", "meta"]).output.contains("was paused already"))
        let misspelt = try run(["jobs", "pause", "mtea"])
        #expect(misspelt.status == 2 && misspelt.output.contains("unknown queue mtea"))
        let table = try run(["jobs", "stats"]).output
        #expect(table.split(separator: "\n").contains { $0.hasPrefix("meta") && $0.contains("since ") }, "listed although it has no jobs: \(table)")
        let stats = try JSONSerialization.jsonObject(with: Data(try run(["jobs", "stats", "--json"]).output.utf8)) as? [[String: Any]]
        #expect(stats?.first { $0["queue"] as? String == "meta" }?["pausedAt"] is String)
        #expect(stats?.first { $0["queue"] as? String == "later" }?["pausedAt"] == nil)
        #expect(try db.with { try $0.sql("SELECT paused_by FROM job_queue_pauses WHERE queue = 'meta'").scalar(String.self) }?.hasPrefix("cli:") == true)
        #expect(try run(["jobs", "resume", "meta"]).output.contains("queue meta resumed"))
        #expect(try run(["jobs", "resume", "meta"]).output.contains("was not paused"))
        #expect(try db.with { try $0.sql("SELECT count(*) FROM job_queue_pauses").scalar(Int.self) } == 0)
    }
}
