import Foundation
import Postgres

/// A sweep that `dualhook schedule` enqueues once per period.
public struct PeriodicJob: Sendable {
    public let name: String
    public let interval: TimeInterval
    /// Enqueues the sweep's job in the scheduler's transaction; `uniqueKey` names the period.
    public let enqueue: @Sendable (_ connection: Connection, _ uniqueKey: String) throws -> Int64?

    public init(name: String, interval: TimeInterval,
                enqueue: @escaping @Sendable (_ connection: Connection, _ uniqueKey: String) throws -> Int64?) {
        precondition(interval >= 1, "a sweep period is at least one second")
        self.name = name
        self.interval = interval
        self.enqueue = enqueue
    }

    /// A sweep of a typed kind with empty arguments.
    public static func sweep<K: JobKind>(_ kind: K.Type, name: String, every interval: TimeInterval, args: K.Args) -> PeriodicJob {
        PeriodicJob(name: name, interval: interval) { connection, key in
            try JobQueue.enqueue(kind, args, options: JobOptions(uniqueKey: key), on: connection)
        }
    }

    /// `DUALHOOK_SWEEP_<NAME>_SECONDS` overrides a sweep's period (operators, tests).
    public func withEnvironmentOverride(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> PeriodicJob {
        let key = "DUALHOOK_SWEEP_\(name.uppercased().replacingOccurrences(of: "-", with: "_"))_SECONDS"
        guard let text = environment[key], let seconds = TimeInterval(text), seconds >= 1 else { return self }
        return PeriodicJob(name: name, interval: seconds, enqueue: enqueue)
    }
}
