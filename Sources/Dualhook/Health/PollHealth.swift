import Foundation
import JobQueue
import Meta
import Postgres

/// Reads a connection's number at Meta (can it send, quality, messaging tier, and where Meta
/// routes its webhooks) into its health and routing snapshots. A token Meta no longer accepts
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

    /// One poll per connection waits at a time.
    static func uniqueKey(_ connectionID: String) -> String { "health:\(connectionID)" }

    let meta: MetaAccess

    public init(_ meta: MetaAccess) { self.meta = meta }

    public func perform(_ args: Args, context: JobContext) throws {
        guard let row = try context.database.withConnection({
            try $0.query("SELECT phone_number_id, access_token FROM connections WHERE id = $1 AND status = 'active'",
                         [args.connectionId]).first
        }) else { return }
        let token = try meta.vault.openText(try row.decode(at: 1), associatedData: args.connectionId)
        let phone: GraphClient.PhoneNumber
        do {
            phone = try meta.graph.phoneNumber(try row.decode(at: 0), fields: GraphClient.healthFields + ",webhook_configuration",
                                               token: token, deadline: context.deadline)
        } catch let error as GraphError where error.isTokenInvalid {
            let reason = error.isTokenExpired ? "token_expired" : "token_revoked"
            context.logger.info("token no longer accepted; disconnecting", ["connection": args.connectionId, "reason": reason])
            try context.database.withConnection {
                try Disconnect.enqueue(args.connectionId, reason: reason, unsubscribe: false, on: $0)
            }
            return
        }
        try context.database.transaction { tx in
            try tx.query("""
                UPDATE connections SET health_status = COALESCE($2, health_status), quality_rating = COALESCE($3, quality_rating),
                    messaging_limit_tier = COALESCE($4, messaging_limit_tier), health_checked_at = now(), updated_at = now()
                WHERE id = $1 AND status = 'active'
                """, [args.connectionId, phone.health_status?.can_send_message, phone.quality_rating, phone.messaging_limit_tier])
            if let configuration = phone.webhook_configuration {
                try ConnectionRouting.record(connectionID: args.connectionId, effectiveURL: configuration.effective, on: tx)
            }
        }
    }
}
