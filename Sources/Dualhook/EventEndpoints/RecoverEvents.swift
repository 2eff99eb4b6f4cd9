import Foundation
import JobQueue

/// `POST /api/v1/event-endpoints/{id}/recover`: every event of a time range (and types) that
/// the endpoint's filters take is delivered to it again, in batches, oldest first. The range's
/// end is fixed when it is asked, so the count answered then is the count sent.
public struct RecoverEvents: JobKind {
    public struct Args: Codable, Sendable {
        let endpointId: String
        let accountId: String
        let since: Date
        let until: Date
        let types: [String]
        /// Where a continuation starts: the last event the job before it queued.
        var afterCreatedAt: Date?
        var afterId: String?
    }
    public static let kind = "event_endpoints.recover"
    public static let queue = "events"
    public static let timeout: TimeInterval = 600
    public static let retryPolicy = RetryPolicy.fixed([10, 60, 300])
    static let batch = 500

    public init() {}

    public func perform(_ args: Args, context: JobContext) throws {
        var cursor: (Date, String)? = args.afterCreatedAt.flatMap { at in args.afterId.map { (at, $0) } }
        var batches = 0
        while true {
            if context.remaining < 30 {
                // Out of time: a continuation takes over from the cursor, so nothing is queued twice.
                var next = args
                next.afterCreatedAt = cursor?.0
                next.afterId = cursor?.1
                try context.database.withConnection { try JobQueue.enqueue(RecoverEvents.self, next, on: $0) }
                break
            }
            let last = try context.database.transaction { tx in
                try DeliveryStore.recover(endpointID: args.endpointId, accountID: args.accountId, since: args.since, until: args.until,
                                          types: args.types, after: cursor, limit: RecoverEvents.batch, on: tx)
            }
            guard let last else { break }
            cursor = last
            batches += 1
        }
        context.logger.info("events recovered", ["endpoint": args.endpointId, "batches": batches])
    }
}
