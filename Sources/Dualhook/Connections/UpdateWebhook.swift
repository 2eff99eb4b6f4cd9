import Crypto
import Foundation
import HTTPClient
import JobQueue
import Meta
import Postgres

/// Applies the latest webhook configuration asked for a WABA (or, with per-number routing, for
/// one number): at Meta first, through `WebhookRouting`, which never subscribes plainly a WABA
/// the app is subscribed to (that would drop its override) and reads the result back; only
/// once Meta shows it, on the connections it routes (every WABA-routed sibling, or the one
/// number), in one transaction. Jobs for one WABA run one at a time (an advisory lock held
/// across the Meta calls), and each applies the newest version, so racing PATCHes end with Meta
/// and the rows on the last one. A refusal leaves the previous override at Meta and on every
/// row, and shows as `webhookUpdate: {status: "failed", error}`.
public struct UpdateWebhook: JobKind {
    public struct Args: Codable, Sendable {
        let wabaId: String
        let connectionId: String
        /// Set for a connection routed per number: only this number's override changes.
        var phoneNumberId: String?
    }
    public static let kind = "connections.update_webhook"
    public static let queue = "meta"
    public static let timeout: TimeInterval = 40
    public static let retryPolicy = RetryPolicy.fixed([5, 30, 120, 600])

    /// The requested verify token is sealed to the Meta object it is for (rows written before
    /// per-number routing used the WABA's id, which is the same string).
    static func associatedData(target: String) -> String { "waba:\(target):verify_token" }

    let meta: MetaAccess
    var vault: Vault { meta.vault }
    var graph: GraphClient { meta.graph }

    public init(_ meta: MetaAccess) { self.meta = meta }

    public func perform(_ args: Args, context: JobContext) throws {
        let target = args.phoneNumberId ?? args.wabaId
        try context.database.transaction { tx in
            try tx.sql("SET LOCAL lock_timeout = '30s'")
            _ = try tx.sql("SELECT pg_advisory_xact_lock(hashtextextended('webhook:' || \(args.wabaId), 0))")
            guard let wanted = try tx.sql("""
                SELECT version, webhook_override_url, webhook_verify_token, applied_version FROM webhook_updates WHERE target = \(target)
                """).first else { return }
            let version: Int = try wanted.decode(at: 0)
            guard try wanted.decode(Int?.self, at: 3) != version else { return }  // already applied by an earlier job
            let url: String = try wanted.decode(at: 1)
            let verifyToken = try vault.openText(try wanted.decode(at: 2), associatedData: UpdateWebhook.associatedData(target: target))
            func failed(_ error: String) throws {
                try tx.sql("UPDATE webhook_updates SET status = 'failed', error = \(error), updated_at = now() WHERE target = \(target) AND version = \(version)")
            }
            guard let holder = try tx.sql("""
                SELECT id, access_token FROM connections WHERE waba_id = \(args.wabaId) AND status = 'active'
                ORDER BY id = \(args.connectionId) DESC, created_at DESC LIMIT 1
                """).first else {
                // A health poll may have found the token dead between the request and this job.
                let revoked = try tx.sql("""
                    SELECT true FROM connections WHERE id = \(args.connectionId) AND status = 'disconnected' AND disconnect_reason = 'token_revoked'
                    """).first != nil
                return try failed(revoked ? "the connection's access token is no longer accepted by Meta; it was disconnected"
                                          : "the WABA has no active connection")
            }
            let token = try vault.openText(try holder.decode(at: 1), associatedData: try holder.decode(String.self, at: 0))
            let routing = WebhookRouting(graph: graph, token: token, deadline: context.deadline)
            // The connections this configuration routes: the number's own, or every sibling
            // routed by the WABA (a number with its own override keeps it).
            let routed = try tx.sql("""
                SELECT id, phone_number_id FROM connections
                WHERE waba_id = \(args.wabaId) AND status = 'active' AND (\(args.phoneNumberId)::text IS NULL OR phone_number_id = \(args.phoneNumberId)) AND
                      (\(args.phoneNumberId)::text IS NOT NULL OR webhook_scope = 'waba')
                ORDER BY id FOR UPDATE
                """).rows.map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1)) }
            do {
                if let phone = args.phoneNumberId {
                    try routing.setPhoneOverride(phone: phone, waba: args.wabaId, url: url, verifyToken: verifyToken)
                } else {
                    try routing.setWABAOverride(waba: args.wabaId, url: url, verifyToken: verifyToken)
                }
            } catch let error as GraphError where error.isTokenInvalid {
                // The token of the connection that speaks for the WABA is dead: it is disconnected,
                // and the change is failed with what happened rather than as Meta's refusal.
                try failed("the connection's access token is no longer accepted by Meta; it is being disconnected")
                try Disconnect.disconnectForDeadToken(try holder.decode(String.self, at: 0), error, context: context, on: tx)
                return
            } catch let error as GraphError where error.waitBeforeRetry != nil {
                // Throttled: tried again when Meta's window passes, the attempt not spent, rather
                // than failed on the last attempt as a refusal of the URL.
                throw JobError.waitingForMeta(error, "changing the webhook")!
            } catch let error as GraphError where !error.isTransient || context.isLastAttempt {
                context.logger.info("webhook update refused", ["waba": args.wabaId, "target": target, "error": "\(error)"])
                try failed("Meta refused the override: \(error)")
                try refreshRouting(routed, routing: routing, on: tx, context: context)
                return
            } catch let error as WebhookRouting.Mismatch where context.isLastAttempt {
                try failed("\(error)")
                try refreshRouting(routed, routing: routing, on: tx, context: context)
                return
            } catch let error as HTTPClientError where context.isLastAttempt {
                return try failed("Meta did not answer: \(error)")
            }
            for (id, _) in routed {
                try ConnectionStore.setWebhook(id, url: url, sealedVerifyToken: try vault.seal(verifyToken, associatedData: "connection:\(id):verify_token"),
                                               on: tx)
            }
            try refreshRouting(routed, routing: routing, on: tx, context: context)
            try tx.sql("""
                UPDATE webhook_updates SET applied_version = \(version), updated_at = now(),
                    status = CASE WHEN version = \(version) THEN 'applied' ELSE status END
                WHERE target = \(target)
                """)
        }
    }

    /// Reads back where Meta now sends each number's webhooks onto its connection. A failed
    /// read leaves the last known routing.
    func refreshRouting(_ connections: [(id: String, phone: String)], routing: WebhookRouting, on tx: Connection,
                        context: JobContext) throws {
        for (id, phone) in connections {
            guard let effective = try? routing.effectiveURL(phone: phone) else {
                context.logger.warning("could not read the number's routing", ["phone_number_id": phone])
                continue
            }
            try ConnectionStore.recordRouting(id, effectiveURL: effective, on: tx)
        }
    }
}
