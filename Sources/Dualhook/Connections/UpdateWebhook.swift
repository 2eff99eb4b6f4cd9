import Crypto
import Foundation
import HTTPClient
import JobQueue
import Meta
import Postgres

/// Applies the latest webhook configuration asked for a WABA: at Meta first (subscription,
/// then override, which Meta checks with its handshake), and only once Meta accepted it, on the
/// connection and every sibling under the WABA, in one transaction. Jobs for one WABA run one at
/// a time (an advisory lock held across the Meta call), and each applies the newest version, so
/// racing PATCHes end with Meta and every sibling on the last one. A refusal changes nothing
/// and shows as `webhookUpdate: {status: "failed", error}`.
public struct UpdateWebhook: JobKind {
    public struct Args: Codable, Sendable {
        let wabaId: String
        let connectionId: String
    }
    public static let kind = "connections.update_webhook"
    public static let queue = "meta"
    public static let timeout: TimeInterval = 40
    public static let retryPolicy = RetryPolicy.fixed([5, 30, 120, 600])

    static func associatedData(waba: String) -> String { "waba:\(waba):verify_token" }

    let meta: MetaAccess
    var vault: Vault { meta.vault }
    var graph: GraphClient { meta.graph }

    public init(_ meta: MetaAccess) { self.meta = meta }

    public func perform(_ args: Args, context: JobContext) throws {
        try context.database.transaction { tx in
            try tx.query("SET LOCAL lock_timeout = '30s'")
            _ = try tx.query("SELECT pg_advisory_xact_lock(hashtextextended('webhook:' || $1, 0))", [args.wabaId])
            guard let wanted = try tx.query("""
                SELECT version, webhook_override_url, webhook_verify_token, applied_version FROM webhook_updates WHERE waba_id = $1
                """, [args.wabaId]).first else { return }
            let version: Int = try wanted.decode(at: 0)
            guard try wanted.decode(Int?.self, at: 3) != version else { return }  // already applied by an earlier job
            let url: String = try wanted.decode(at: 1)
            let verifyToken = try vault.openText(try wanted.decode(at: 2), associatedData: UpdateWebhook.associatedData(waba: args.wabaId))
            guard let holder = try tx.query("""
                SELECT id, access_token FROM connections WHERE waba_id = $1 AND status = 'active'
                ORDER BY id = $2 DESC, created_at DESC LIMIT 1
                """, [args.wabaId, args.connectionId]).first else {
                try tx.query("UPDATE webhook_updates SET status = 'failed', error = $3, updated_at = now() WHERE waba_id = $1 AND version = $2",
                             [args.wabaId, version, "the WABA has no active connection"])
                return
            }
            let token = try vault.openText(try holder.decode(at: 1), associatedData: try holder.decode(String.self, at: 0))
            do {
                try graph.subscribe(waba: args.wabaId, token: token, deadline: context.deadline)
                try graph.overrideCallback(waba: args.wabaId, callbackURI: url, verifyToken: verifyToken, token: token,
                                           deadline: context.deadline)
            } catch let error as GraphError where !error.isTransient || context.isLastAttempt {
                context.logger.info("webhook update refused", ["waba": args.wabaId, "error": "\(error)"])
                try tx.query("UPDATE webhook_updates SET status = 'failed', error = $3, updated_at = now() WHERE waba_id = $1 AND version = $2",
                             [args.wabaId, version, "Meta refused the override: \(error)"])
                return
            } catch let error as HTTPClientError where context.isLastAttempt {
                try tx.query("UPDATE webhook_updates SET status = 'failed', error = $3, updated_at = now() WHERE waba_id = $1 AND version = $2",
                             [args.wabaId, version, "Meta did not answer: \(error)"])
                return
            }
            let siblings = try tx.query("SELECT id FROM connections WHERE waba_id = $1 AND status = 'active' ORDER BY id FOR UPDATE",
                                        [args.wabaId]).rows.map { try $0.decode(String.self, at: 0) }
            for id in siblings {
                try tx.query("""
                    UPDATE connections SET webhook_override_url = $2, webhook_verify_token = $3, updated_at = now() WHERE id = $1
                    """, [id, url, try vault.seal(verifyToken, associatedData: "connection:\(id):verify_token")])
            }
            try tx.query("""
                UPDATE webhook_updates SET applied_version = $2, updated_at = now(),
                    status = CASE WHEN version = $2 THEN 'applied' ELSE status END
                WHERE waba_id = $1
                """, [args.wabaId, version])
        }
    }
}
