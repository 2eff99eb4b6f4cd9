import Foundation
import JobQueue

/// `POST /api/v1/event-endpoints/{id}/recover`: every event of a time range (and types) that
/// the endpoint's filters take, or only those not yet delivered to it, is delivered to it
/// again, in batches, oldest first. The range's end is fixed when it is asked, so the count
/// answered then is the count sent (less, with `onlyUndelivered`, those a retry delivered
/// meanwhile).
public struct RecoverEvents: JobKind {
    public struct Args: Codable, Sendable {
        let endpointId: String
        let accountId: String
        /// Microseconds since 1970: job arguments are JSON, whose dates would lose the
        /// precision that decides whether an event falls inside the range.
        let sinceMicros: Int64
        let untilMicros: Int64
        let types: [String]
        /// Only the events not yet delivered to the endpoint (nil in jobs queued before it existed: all).
        var onlyUndelivered: Bool?
        /// Where a continuation starts: the last event the job before it queued.
        var afterMicros: Int64?
        var afterId: String?

        init(endpointId: String, accountId: String, since: Date, until: Date, types: [String], onlyUndelivered: Bool) {
            self.endpointId = endpointId
            self.accountId = accountId
            self.sinceMicros = Args.micros(since)
            self.untilMicros = Args.micros(until)
            self.types = types
            self.onlyUndelivered = onlyUndelivered
        }

        static func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
        static func date(_ micros: Int64) -> Date { Date(timeIntervalSince1970: Double(micros) / 1_000_000) }
    }
    public static let kind = "event_endpoints.recover"
    public static let queue = "events"
    public static let timeout: TimeInterval = 600
    public static let retryPolicy = RetryPolicy.fixed([10, 60, 300])
    static let batch = 200

    public init() {}

    /// One batch, and the job that continues after it, committed together: a retry repeats
    /// only the batch that did not commit.
    public func perform(_ args: Args, context: JobContext) throws {
        let cursor: (Date, String)? = args.afterMicros.flatMap { at in args.afterId.map { (Args.date(at), $0) } }
        let count = try context.database.transaction { tx in
            let done = try DeliveryStore.recover(endpointID: args.endpointId, accountID: args.accountId, since: Args.date(args.sinceMicros),
                                                 until: Args.date(args.untilMicros), types: args.types,
                                                 onlyUndelivered: args.onlyUndelivered == true, after: cursor,
                                                 limit: RecoverEvents.batch, on: tx)
            if done.count == RecoverEvents.batch, let last = done.last {
                var next = args
                next.afterMicros = Args.micros(last.0)
                next.afterId = last.1
                try JobQueue.enqueue(RecoverEvents.self, next, options: JobOptions(delay: 1), on: tx)
            }
            return done.count
        }
        context.logger.info("events recovered", ["endpoint": args.endpointId, "count": count])
    }
}
