import Foundation
import JobQueue
import Meta
import Postgres

/// Reads a connection's number at Meta (can it send, quality, messaging limit, the errors of each
/// entity that limit it, and where Meta routes its webhooks) into its health and routing
/// snapshots; a change emits `connection.health_changed`. Suspended numbers are not polled:
/// their app is offboarded, and what Meta says of them then is not a failure. A token Meta no longer accepts
/// (190) ends the connection: `connection.disconnected` with `reason: "token_expired"` when
/// Meta says it expired (subcode 463), else `"token_revoked"`.
public struct PollHealth: JobKind {
    public struct Args: Codable, Sendable {
        let connectionId: String
    }
    public static let kind = "connections.health_poll"
    public static let queue = "health"
    public static let timeout: TimeInterval = 30
    public static let retryPolicy = RetryPolicy.exponential(base: 30, maximum: 1800, maxAttempts: 5, jitter: 0.2)

    /// The entity of the issue a refused read records (Meta's own entities are `PHONE_NUMBER`,
    /// `WABA`, `BUSINESS`, `APP`).
    static let readEntity = "HEALTH_READ"

    /// Meta's answers that stay the same on a retry: a permission the app lacks (3, 10,
    /// 200–299), or a number that no longer exists (33; 100 with subcode 33, "Object with ID …
    /// does not exist, cannot be loaded due to missing permissions",
    /// https://developers.facebook.com/docs/graph-api/guides/error-handling).
    static func isLasting(_ error: GraphError) -> Bool {
        error.isPermission || error.code == 33 || (error.code == 100 && error.subcode == 33)
    }

    /// One poll per connection waits at a time.
    static func uniqueKey(_ connectionID: String) -> String { "health:\(connectionID)" }

    let meta: MetaAccess

    /// A poll now: the waiting one runs at once, or one is queued (after the running one).
    static func bringForward(_ id: String, on connection: Connection) throws {
        if try !JobQueue.runNow(uniqueKey: uniqueKey(id), queue: queue, on: connection),
           try JobQueue.enqueue(PollHealth.self, .init(connectionId: id), options: JobOptions(uniqueKey: uniqueKey(id)), on: connection) == nil {
            // A poll is running now and may have read Meta before what prompted this one: one
            // more follows it.
            try JobQueue.enqueue(PollHealth.self, .init(connectionId: id), options: JobOptions(uniqueKey: uniqueKey(id) + ":again"),
                                 on: connection)
        }
    }

    public init(_ meta: MetaAccess) { self.meta = meta }

    public func perform(_ args: Args, context: JobContext) throws {
        guard let row = try context.database.withConnection({
            try $0.sql("SELECT phone_number_id, access_token FROM connections WHERE id = \(args.connectionId) AND status = 'active'").first
        }) else { return }
        let token = try meta.vault.openText(try row.decode(at: 1), associatedData: args.connectionId)
        let phoneID: String = try row.decode(at: 0)
        let read: GraphClient.PhoneNumber?
        do {
            read = try Disconnect.unlessTokenDead(args.connectionId, context: context, {
                try meta.graph.phoneNumber(phoneID, fields: GraphClient.healthFields + ",webhook_configuration", token: token, deadline: context.deadline)
            })
        } catch let error as GraphError where error.waitBeforeRetry != nil {
            // Throttled: read again when Meta says its window passes, the attempt not spent (five
            // retries at 30 s, doubling, ran out within Meta's hourly windows and dropped the poll).
            throw JobError.waitingForMeta(error, "reading health")!
        } catch let error as GraphError where PollHealth.isLasting(error) {
            // No retry reads it: the number is gone or the app may no longer read it. Said in
            // the connection's health (and so in `connection.health_changed`), not dropped
            // after five silent retries.
            context.logger.warning("Meta refuses to read the number's health", ["connection": args.connectionId, "error": "\(error)"])
            try context.database.transaction { tx in
                try ConnectionStore.recordReadRefused(args.connectionId, issue: HealthSnapshot.Issue(
                    entity: PollHealth.readEntity, code: "\(error.code)", description: "Meta refused to read the number: \(error.message)"), on: tx)
            }
            return
        }
        guard let phone = read else { return }
        let issues = (phone.health_status?.entities ?? []).flatMap { entity in
            (entity.errors ?? []).map { problem in
                HealthSnapshot.Issue(entity: entity.entity_type ?? "UNKNOWN", code: problem.error_code.map(String.init) ?? "unknown",
                                     description: problem.error_description)
            }
        }
        let reading = HealthReading(status: phone.health_status?.can_send_message, qualityRating: phone.quality_rating,
                                    // The API's `messagingLimitTier` reads the field that replaced Meta's deprecated tier.
                                    messagingLimitTier: phone.whatsapp_business_manager_messaging_limit,
                                    messagingLimit: phone.whatsapp_business_manager_messaging_limit, issues: issues)
        try context.database.transaction { tx in
            try ConnectionStore.recordHealth(args.connectionId, reading: reading, on: tx)
            if let configuration = phone.webhook_configuration {
                try ConnectionStore.recordRouting(args.connectionId, effectiveURL: configuration.effective, on: tx)
            }
        }
    }
}
