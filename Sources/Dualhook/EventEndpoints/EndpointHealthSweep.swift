import Foundation
import JobQueue
import Postgres

/// The `event-endpoints` sweep (hourly): an enabled endpoint whose every attempt has failed
/// for a day gets `endpoint.warning` (`days` 1), for three days another (`days` 3), and after
/// five days it is disabled (`endpoint.disabled`, reason `failing`). Each notice is sent once
/// per stretch of failures, by the one sweep whose update claims it, however many run.
public struct EndpointHealthSweep: JobKind {
    public struct Args: Codable, Sendable {
        public init() {}
    }
    public static let kind = "sweep.event_endpoints"
    public static let queue = "maintenance"
    public static let timeout: TimeInterval = 120
    public static let retryPolicy = RetryPolicy.fixed([30, 120])

    static let warnings = [3, 1]
    static let disableAfterDays = 5

    public init() {}

    public func perform(_ args: Args, context: JobContext) throws {
        var disabled = 0
        while !context.isCancelled {
            let done = try context.database.transaction { tx -> Bool in
                guard let id = try tx.sql("""
                    SELECT id FROM event_endpoints
                    WHERE status = 'enabled' AND failing_since < now() - make_interval(days => \(EndpointHealthSweep.disableAfterDays))
                    ORDER BY failing_since LIMIT 1 FOR UPDATE SKIP LOCKED
                    """).scalar(String.self) else { return true }
                try EventEndpointStore.disable(id, reason: .failing, on: tx)
                context.logger.warning("event endpoint disabled: failing for days", ["endpoint": id, "days": EndpointHealthSweep.disableAfterDays])
                disabled += 1
                return false
            }
            if done { break }
        }
        var warned = 0
        // The longer warning first: an endpoint found three days into its failures gets that one only.
        for days in EndpointHealthSweep.warnings {
            warned += try context.database.transaction { tx in
                let rows = try tx.sql("""
                    UPDATE event_endpoints SET warned_days = \(days)
                    WHERE status = 'enabled' AND failing_since < now() - make_interval(days => \(days)) AND warned_days < \(days)
                    RETURNING id, account_id, url, failing_since, last_error
                    """).rows
                for row in rows {
                    let notice = EndpointNotice(endpointId: try row.decode(at: 0), url: try row.decode(at: 2),
                                                failingSince: try row.decode(at: 3), days: days, lastError: try row.decode(at: 4))
                    try Outbox.emit(type: .endpointWarning, accountID: try row.decode(at: 1), dataJSON: try Outbox.json(notice), on: tx)
                }
                return rows.count
            }
        }
        if disabled + warned > 0 {
            context.logger.warning("failing event endpoints", ["disabled": disabled, "warned": warned])
        }
    }

    public static func periodic() -> PeriodicJob {
        PeriodicJob.sweep(EndpointHealthSweep.self, name: "event-endpoints", every: 3600, args: Args())
    }
}
