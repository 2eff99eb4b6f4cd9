import Foundation
import JobQueue
import Postgres

/// Brings an endpoint's deliveries in line with its status after a disable or an enable, in
/// batches: a disabled endpoint's undelivered events are held (kept, nothing dropped); an
/// enabled one's held events are released, oldest first, their jobs due in that order. Each
/// batch and the job that continues it commit together, so a killed worker loses nothing and
/// repeats nothing. The settle sweep queues one for any endpoint found out of line.
public struct SyncEndpointDeliveries: JobKind {
    public struct Args: Codable, Sendable {
        let endpointId: String
    }
    public static let kind = "event_endpoints.sync"
    public static let queue = "events"
    public static let timeout: TimeInterval = 120
    public static let retryPolicy = RetryPolicy.fixed([5, 30, 120, 600])
    /// Small batches: each locks its deliveries' events until it commits, and released
    /// deliveries wait for the account's few slots anyway.
    static let batch = 200

    public init() {}

    public func perform(_ args: Args, context: JobContext) throws {
        let moved = try context.database.transaction { tx in
            let moved = try DeliveryStore.sync(endpointID: args.endpointId, limit: SyncEndpointDeliveries.batch, on: tx)
            if moved == SyncEndpointDeliveries.batch {
                // More to do: the next batch a moment later, so the released ones start first.
                try JobQueue.enqueue(SyncEndpointDeliveries.self, args, options: JobOptions(delay: 1), on: tx)
            }
            return moved
        }
        if moved > 0 { context.logger.info("endpoint deliveries moved", ["endpoint": args.endpointId, "count": moved]) }
    }

    static func enqueue(_ endpointID: String, on connection: Postgres.Connection) throws {
        try JobQueue.enqueue(SyncEndpointDeliveries.self, Args(endpointId: endpointID), on: connection)
    }
}
