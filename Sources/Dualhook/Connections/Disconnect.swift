import Crypto
import Foundation
import JobQueue
import Meta
import Postgres

/// Ends a connection: a number routed by its own override has that override removed at Meta
/// (so it cannot shadow whoever routes the WABA next); when it was the WABA's last live one, the
/// app unsubscribes from the WABA at Meta first (a token Meta no longer accepts cannot, and does not stop the disconnection);
/// then the connection is `disconnected` with `connection.disconnected` and its reason, in one
/// transaction. Jobs for one WABA run one at a time, so two siblings disconnected together
/// still leave the WABA unsubscribed. Running it twice does nothing the second time.
public struct Disconnect: JobKind {
    public struct Args: Codable, Sendable {
        let connectionId: String
        let reason: DisconnectReason
        /// False when Meta already ended the link (ban, partner removed, token revoked).
        var unsubscribe: Bool?
    }
    public static let kind = "connections.disconnect"
    public static let queue = "meta"
    public static let timeout: TimeInterval = 40
    public static let retryPolicy = RetryPolicy.fixed([5, 30, 120, 600])

    let meta: MetaAccess
    var vault: Vault { meta.vault }
    var graph: GraphClient { meta.graph }

    public init(_ meta: MetaAccess) { self.meta = meta }

    /// Queues the disconnection; one at a time per connection, so asking twice does nothing more.
    static func enqueue(_ connectionID: String, reason: DisconnectReason, unsubscribe: Bool, on connection: Connection) throws {
        try JobQueue.enqueue(Disconnect.self, .init(connectionId: connectionID, reason: reason, unsubscribe: unsubscribe),
                             options: JobOptions(uniqueKey: "disconnect:\(connectionID)"), on: connection)
    }

    public func perform(_ args: Args, context: JobContext) throws {
        try context.database.transaction { tx in
            guard let waba = try tx.sql("SELECT waba_id FROM connections WHERE id = \(args.connectionId) AND status IN ('active', 'suspended')").scalar(String.self) else { return }
            try tx.sql("SET LOCAL lock_timeout = '30s'")
            _ = try tx.sql("SELECT pg_advisory_xact_lock(hashtextextended('webhook:' || \(waba), 0))")
            guard let row = try tx.sql("""
                SELECT c.account_id, c.tenant_id, c.phone_number_id, c.access_token, c.session_id,
                       (SELECT s.metadata::text FROM onboarding_sessions s WHERE s.id = c.session_id),
                       (SELECT count(*) FROM connections o WHERE o.waba_id = c.waba_id AND o.status IN ('active', 'suspended')
                          AND o.id <> c.id),
                       c.webhook_scope
                FROM connections c WHERE c.id = \(args.connectionId) AND c.status IN ('active', 'suspended') FOR UPDATE
                """).first else { return }
            if args.unsubscribe ?? true {
                let token = try vault.openText(try row.decode(at: 3), associatedData: args.connectionId)
                do {
                    if try row.decode(String.self, at: 7) == WebhookScope.phoneNumber.rawValue {
                        try WebhookRouting(graph: graph, token: token, deadline: context.deadline)
                            .clearPhoneOverride(phone: try row.decode(at: 2))
                    }
                    if try row.decode(Int.self, at: 6) == 0 {
                        try graph.unsubscribe(waba: waba, token: token, deadline: context.deadline)
                    }
                } catch let error as GraphError where !error.isTransient || context.isLastAttempt {
                    // Nothing more can be done at Meta with this token; the connection ends anyway.
                    context.logger.warning("could not release the WABA or number", ["waba": waba, "error": "\(error)"])
                } catch let error as WebhookRouting.Mismatch where context.isLastAttempt {
                    context.logger.warning("the number's override is still shown at Meta", ["waba": waba, "error": "\(error)"])
                }
            }
            try ConnectionStore.disconnect(args.connectionId, reason: args.reason, on: tx)
        }
    }
}
