import Dualhook
import Foundation
import JobQueue
import Logging

extension Commands {
    static func work(_ args: ArraySlice<String>, _ environment: Environment) throws -> Int32 {
        let parsed = try Arguments(args, options: ["queues", "concurrency", "grace", "reap-interval", "poll-interval", "lease-margin",
                                                   "max-stuck"], flags: [])
        try parsed.expectPositionals(0, "")
        try environment.requireProductionSettings()
        let registry = try Catalog.registry(environment)
        let concurrency = try parsed.int("concurrency", default: 10, range: 1...1000)
        let queues = try parseQueues(parsed.options["queues"], defaultConcurrency: concurrency, known: registry.queues)
        var configuration = WorkerConfiguration(queues: queues)
        configuration.shutdownGrace = try parsed.seconds("grace", default: 25)
        configuration.reapInterval = max(0.1, try parsed.seconds("reap-interval", default: 5))
        configuration.pollInterval = max(0.05, try parsed.seconds("poll-interval", default: 1))
        configuration.leaseMargin = try parsed.seconds("lease-margin", default: 5)
        configuration.claimObserver = { queue, waited in Counters.shared.observeClaim(queue: queue, waited: waited) }
        if parsed.options["max-stuck"] != nil { configuration.maxStuckThreads = try parsed.int("max-stuck", default: 4, range: 0...10_000) }

        let logger = Logger(label: "work")
        environment.logStartup(logger, command: "work")
        let worker = Worker(configuration: configuration, registry: registry,
                            databaseURL: environment.databaseURL, logger: logger)
        Signals.onTermination { _ in worker.stop() }
        WakeUps.shared.start(databaseURL: environment.databaseURL)
        Counters.shared.start(databaseURL: environment.databaseURL)
        worker.run()
        Counters.shared.finish(databaseURL: environment.databaseURL)
        return 0
    }

    /// `a,b` or `a:5,b:20`; names are checked so a typo does not start a worker that idles forever.
    static func parseQueues(_ text: String?, defaultConcurrency: Int, known: [String]) throws -> [WorkerConfiguration.Queue] {
        guard let text, !text.isEmpty else {
            return known.map { WorkerConfiguration.Queue(name: $0, concurrency: defaultConcurrency) }
        }
        var queues: [WorkerConfiguration.Queue] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":", maxSplits: 1).map(String.init)
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw UsageError("--queues: \"\(item)\" is not a queue name")
            }
            guard known.contains(name) else {
                throw UsageError("--queues: no job kind of this binary runs on queue \(name) (known: \(known.joined(separator: ", ")))")
            }
            var slots = defaultConcurrency
            if parts.count == 2 {
                guard let n = Int(parts[1]), (1...1000).contains(n) else {
                    throw UsageError("--queues: the slot count of \(name) must be from 1 to 1000")
                }
                slots = n
            }
            guard !queues.contains(where: { $0.name == name }) else { throw UsageError("--queues: \(name) named twice") }
            queues.append(WorkerConfiguration.Queue(name: name, concurrency: slots))
        }
        return queues
    }

    static func schedule(_ args: ArraySlice<String>, _ environment: Environment) throws -> Int32 {
        let parsed = try Arguments(args, options: [], flags: [])
        try parsed.expectPositionals(0, "")
        let scheduler = Scheduler(jobs: try Catalog.sweeps(environment), databaseURL: environment.databaseURL,
                                  logger: Logger(label: "schedule"))
        Signals.onTermination { _ in scheduler.stop() }
        scheduler.run()
        return 0
    }

    static func sweep(_ args: ArraySlice<String>, _ environment: Environment) throws -> Int32 {
        let parsed = try Arguments(args, options: [], flags: [])
        try parsed.expectPositionals(1, "sweep NAME")
        let name = parsed.positionals[0]
        let sweeps = try Catalog.sweeps(environment)
        guard let sweep = sweeps.first(where: { $0.name == name }) else {
            throw UsageError("unknown sweep \(name) (known: \(sweeps.map(\.name).joined(separator: ", ")))")
        }
        let connection = try connect(environment)
        defer { connection.close() }
        let id = try connection.transaction { try sweep.enqueue($0, "sweep:\(name):manual") }
        if let id {
            print("enqueued sweep \(name) as job \(id)")
        } else {
            print("sweep \(name) is already waiting to run")
        }
        return 0
    }
}
