import Dualhook
import Foundation
import JobQueue
import Postgres

extension Commands {
    static func jobs(_ args: ArraySlice<String>, _ environment: Environment) throws -> Int32 {
        guard let sub = args.first else { throw UsageError("missing subcommand: stats, list, show, retry, cancel, pause, resume or enqueue") }
        let rest = args.dropFirst()
        switch sub {
        case "stats":
            let parsed = try Arguments(rest, options: [], flags: ["json"])
            try parsed.expectPositionals(0, "")
            let connection = try connect(environment)
            defer { connection.close() }
            let stats = try JobAdmin.stats(on: connection)
            if parsed.flags.contains("json") { return printJSON(stats) }
            let formatter = ISO8601DateFormatter()
            printTable(["queue"] + JobAdmin.listStates + ["paused"],
                       stats.map { [$0.queue] + $0.listed.map { "\($0.count)" } + [$0.pausedAt.map { "since " + formatter.string(from: $0) } ?? "no"] })
        case "list":
            let parsed = try Arguments(rest, options: ["state", "kind", "queue", "limit"], flags: ["json"])
            try parsed.expectPositionals(0, "")
            let states = JobAdmin.listStates
            if let state = parsed.options["state"], !states.contains(state) {
                throw UsageError("--state must be one of \(states.joined(separator: ", "))")
            }
            let limit = try parsed.int("limit", default: 50, range: 1...10_000)
            let connection = try connect(environment)
            defer { connection.close() }
            let jobs = try JobAdmin.list(state: parsed.options["state"], kind: parsed.options["kind"], queue: parsed.options["queue"],
                                         limit: limit, on: connection)
            if jobs.isEmpty { try hintUnknownFilters(queue: parsed.options["queue"], kind: parsed.options["kind"], environment) }
            if parsed.flags.contains("json") { return printJSON(jobs) }
            let formatter = ISO8601DateFormatter()
            printTable(["id", "queue", "kind", "state", "attempt", "run_at", "last_error"],
                       jobs.map { ["\($0.id)", $0.queue, $0.kind, $0.state, "\($0.attempt)/\($0.maxAttempts)",
                                   formatter.string(from: $0.runAt), String(($0.lastError ?? "").prefix(60))] })
        case "show":
            let parsed = try Arguments(rest, options: [], flags: ["json"])
            try parsed.expectPositionals(1, "job ID")
            guard let id = Int64(parsed.positionals[0]), id > 0 else { throw UsageError("job ID must be a positive number") }
            let connection = try connect(environment)
            defer { connection.close() }
            guard let job = try JobAdmin.detail(id: id, on: connection) else {
                fail("no job \(id)")
                return 1
            }
            return printJob(job, json: parsed.flags.contains("json"))
        case "retry", "cancel":
            let parsed = try Arguments(rest, options: [], flags: [])
            try parsed.expectPositionals(1, "job ID")
            guard let id = Int64(parsed.positionals[0]), id > 0 else { throw UsageError("job ID must be a positive number") }
            let connection = try connect(environment)
            defer { connection.close() }
            // A delivery job finds its event delivered and sends nothing: say how to send it
            // again instead of answering that it will run.
            if sub == "retry", let job = try JobAdmin.detail(id: id, on: connection), job.summary.kind == DeliverEvent.kind,
               job.summary.state == "completed" {
                let event = ((try? JSONSerialization.jsonObject(with: Data(job.argsJSON.utf8))) as? [String: Any])?["eventId"] as? String ?? "ID"
                fail("job \(id) delivered its event, so running it again sends nothing; send event \(event) again with "
                     + "POST /api/v1/events/\(event)/redeliver or the dashboard's event page")
                return 1
            }
            let result = sub == "retry" ? try JobAdmin.retry(id: id, on: connection) : try JobAdmin.cancel(id: id, on: connection)
            switch result {
            case .changed:
                print(sub == "retry" ? "job \(id) will run again now" : "job \(id) cancelled")
            case .notFound:
                fail("no job \(id)")
                return 1
            case .keyHeld(let live):
                fail("job \(id) cannot run again while job \(live), which holds its unique key, is waiting or running")
                return 1
            case .wrongState(let state):
                fail("job \(id) is \(state); \(sub == "retry" ? "a running job cannot be retried" : "only a waiting (available or scheduled) or running job can be cancelled")")
                return 1
            }
        case "pause", "resume":
            let parsed = try Arguments(rest, options: [], flags: [])
            try parsed.expectPositionals(1, "QUEUE")
            let queue = parsed.positionals[0]
            let known = try Catalog.registry(environment).queues
            // A pause of a misspelt queue would stop nothing and say nothing.
            guard known.contains(queue) else { throw UsageError("unknown queue \(queue) (known: \(known.joined(separator: ", ")))") }
            let connection = try connect(environment)
            defer { connection.close() }
            if sub == "pause" {
                let who = "cli:" + (ProcessInfo.processInfo.environment["USER"] ?? "operator")
                let paused = try JobAdmin.pause(queue: queue, by: who, on: connection)
                print(paused ? "queue \(queue) paused: workers finish what they run and claim nothing more from it"
                             : "queue \(queue) was paused already")
            } else {
                // Idle workers are woken on this connection (no notifier runs in a CLI process).
                let resumed = try JobAdmin.resume(queue: queue, on: connection)
                print(resumed ? "queue \(queue) resumed" : "queue \(queue) was not paused")
            }
        case "enqueue":
            let parsed = try Arguments(rest, options: ["args", "queue", "count", "unique-key", "timeout", "delay", "spacing"], flags: [])
            try parsed.expectPositionals(1, "job KIND")
            let kind = parsed.positionals[0]
            let registry = try Catalog.registry(environment)
            // A kind no worker of this binary runs would wait forever.
            guard registry.kinds.contains(kind) else {
                throw UsageError("unknown job kind \(kind) (known: \(registry.kinds.joined(separator: ", ")))")
            }
            let argsJSON = parsed.options["args"] ?? "{}"
            guard let object = try? JSONSerialization.jsonObject(with: Data(argsJSON.utf8)), object is [String: Any] else {
                throw UsageError("--args must be a JSON object")
            }
            let count = try parsed.int("count", default: 1, range: 1...10_000_000)
            let queue = parsed.options["queue"] ?? registry.queue(of: kind) ?? "default"
            let timeout = try parsed.seconds("timeout", default: registry.timeout(of: kind) ?? 60)
            let maxAttempts = (registry.retryPolicy(of: kind) ?? .standard).maxAttempts
            let delay = try parsed.seconds("delay", default: 0)
            let spacing = try parsed.options["spacing"].map { _ in try parsed.seconds("spacing", default: 0) }
            if (spacing != nil || count > 1) && parsed.options["unique-key"] != nil {
                throw UsageError("--unique-key goes with a single job, without --spacing")
            }
            if spacing != nil && parsed.options["delay"] != nil { throw UsageError("--delay does not go with --spacing") }
            let connection = try connect(environment)
            defer { connection.close() }
            if let pause = spacing {
                // One job per transaction, woken as a long-lived process wakes its queues (the
                // coalescing notifier): what a front or worker does, without a process start
                // and exit beside each job.
                WakeUps.shared.start(databaseURL: environment.databaseURL)
                for n in 0..<count {
                    if n > 0 { Thread.sleep(forTimeInterval: pause) }
                    _ = try JobQueue.enqueueRaw(kind: kind, queue: queue, argsJSON: argsJSON, maxAttempts: maxAttempts,
                                                timeout: timeout, on: connection)
                }
                // The last wake-up leaves from the notifier's thread; give it its interval.
                Thread.sleep(forTimeInterval: WakeUps.shared.interval + 0.05)
                print("enqueued \(count) \(kind) jobs, \(pause) s apart")
            } else if count == 1 {
                let id = try JobQueue.enqueueRaw(kind: kind, queue: queue, argsJSON: argsJSON, maxAttempts: maxAttempts,
                                                 timeout: timeout,
                                                 options: JobOptions(uniqueKey: parsed.options["unique-key"], delay: delay),
                                                 on: connection)
                print(id.map { "\($0)" } ?? "a job with that unique key is already waiting")
            } else {
                var left = count
                while left > 0 {
                    let n = min(left, 5000)
                    try JobQueue.enqueueManyRaw(kind: kind, queue: queue, argsJSON: Array(repeating: argsJSON, count: n),
                                                maxAttempts: maxAttempts, timeout: timeout, options: JobOptions(delay: delay),
                                                on: connection)
                    left -= n
                }
                print("enqueued \(count) \(kind) jobs")
            }
        default:
            throw UsageError("unknown subcommand jobs \(sub)")
        }
        return 0
    }

    static func printJSON<T: Encodable>(_ value: T) -> Int32 {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(value) else { return 1 }
        print(String(decoding: data, as: UTF8.self))
        return 0
    }

    /// An empty list filtered by a queue or kind that no registered kind has: likely a typo,
    /// said on stderr. Not refused: jobs enqueued by hand may use any queue or kind.
    static func hintUnknownFilters(queue: String?, kind: String?, _ environment: Environment) throws {
        guard queue != nil || kind != nil else { return }
        let registry = try Catalog.registry(environment)
        if let queue, !registry.queues.contains(queue) {
            fail("no registered kind uses queue \(queue) (known: \(registry.queues.joined(separator: ", ")))")
        }
        if let kind, registry.queue(of: kind) == nil {
            fail("no registered kind is called \(kind) (known: \(registry.kinds.joined(separator: ", ")))")
        }
    }

    static func printTable(_ header: [String], _ rows: [[String]]) {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        print(line(header))
        print(line(widths.map { String(repeating: "-", count: $0) }))
        for row in rows { print(line(row)) }
        if rows.isEmpty { print("(none)") }
    }
}
