import Foundation
import JobQueue

/// Sends what an endpoint missed while it was disabled: its held deliveries made pending again
/// in batches, oldest event first, each batch's jobs due in that order. Stops when the endpoint
/// is disabled again (what is left stays held).
public struct ReleaseHeldEvents: JobKind {
    public struct Args: Codable, Sendable {
        let endpointId: String
        let accountId: String
    }
    public static let kind = "event_endpoints.release"
    public static let queue = "events"
    public static let timeout: TimeInterval = 300
    public static let retryPolicy = RetryPolicy.fixed([10, 60, 300])
    static let batch = 500

    public init() {}

    public func perform(_ args: Args, context: JobContext) throws {
        let total = try context.inBatches(of: ReleaseHeldEvents.batch) {
            try context.database.transaction { tx in
                try DeliveryStore.releaseHeld(endpointID: args.endpointId, accountID: args.accountId,
                                              limit: ReleaseHeldEvents.batch, on: tx)
            }
        }
        context.logger.info("held events released", ["endpoint": args.endpointId, "count": total])
    }
}
