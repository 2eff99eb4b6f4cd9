import Crypto
import Foundation
import JobQueue
import Meta
import Postgres

/// Coexistence: asks Meta to synchronise the WhatsApp Business app's contacts, then its message
/// history (`POST /{phone}/smb_app_data`), keeping each `request_id`. Meta allows each sync once
/// and only within 24 hours of onboarding
/// (https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/onboarding-business-app-users),
/// so a transient failure is retried until that window closes, and "already requested"
/// (2593107) counts as done.
public struct RequestSync: JobKind {
    public struct Args: Codable, Sendable {
        let connectionId: String
    }
    public static let kind = "connections.request_sync"
    public static let queue = "meta"
    public static let timeout: TimeInterval = 30
    public static let retryPolicy = RetryPolicy.exponential(base: 30, maximum: 1800, maxAttempts: 60, jitter: 0.2)
    /// Contacts first, then history, as Meta's steps go.
    static let types = ["smb_app_state_sync", "history"]
    static let window: TimeInterval = 86_400

    let meta: MetaAccess

    public init(_ meta: MetaAccess) { self.meta = meta }

    static func enqueue(_ connectionID: String, after delay: TimeInterval, on connection: Connection) throws {
        try JobQueue.enqueue(RequestSync.self, .init(connectionId: connectionID),
                             options: JobOptions(uniqueKey: "sync:\(connectionID)", delay: delay), on: connection)
    }

    /// What Meta accepted: each sync's `request_id` ("" for one Meta says was already
    /// requested), and whether Meta said the 24 hours after onboarding have passed (2593108),
    /// after which no request can work.
    struct Outcome {
        var done: [String: String]
        var windowClosed = false
    }

    /// Requests, in order, each sync not in `done`; stops at the first that fails (history
    /// waits for contacts). A sync accepted before Meta closed the window is kept in the
    /// outcome. A token Meta no longer accepts is thrown.
    static func request(phone: String, done: [String: String], graph: GraphClient, token: String, context: JobContext) throws -> Outcome {
        var outcome = Outcome(done: done)
        for type in types where outcome.done[type] == nil {
            do {
                outcome.done[type] = try graph.requestSync(phone: phone, type: type, token: token, deadline: context.deadline) ?? ""
            } catch let error as GraphError where error.isSyncAlreadyRequested {
                outcome.done[type] = ""
            } catch let error as GraphError where error.isSyncWindowClosed {
                context.logger.warning("coexistence sync window closed, Meta says", ["phone_number_id": phone, "sync_type": type])
                outcome.windowClosed = true
                break
            } catch let error as GraphError where error.isTokenInvalid {
                throw error
            } catch {
                context.logger.warning("coexistence sync request not accepted", ["phone_number_id": phone, "sync_type": type, "error": "\(error)"])
                break
            }
        }
        return outcome
    }

    public func perform(_ args: Args, context: JobContext) throws {
        guard let row = try context.database.withConnection({
            try $0.sql("""
                SELECT phone_number_id, access_token, sync_requests::text, created_at FROM connections
                WHERE id = \(args.connectionId) AND status = 'active' AND connection_mode = 'coexistence'
                """).first
        }) else { return }
        let createdAt: Date = try row.decode(at: 3)
        guard Date().timeIntervalSince(createdAt) < RequestSync.window else {
            context.logger.warning("coexistence sync window closed", ["connection": args.connectionId])
            return
        }
        let before = try JSONDecoder().decode([String: String].self, from: Data(try row.decode(String.self, at: 2).utf8))
        let token = try meta.vault.openText(try row.decode(at: 1), associatedData: args.connectionId)
        let phoneID: String = try row.decode(at: 0)
        guard let outcome = try Disconnect.unlessTokenDead(args.connectionId, context: context, {
            try RequestSync.request(phone: phoneID, done: before, graph: meta.graph, token: token, context: context)
        }) else { return }
        let after = outcome.done
        if after != before {
            let json = String(decoding: try JSONSerialization.data(withJSONObject: after, options: [.sortedKeys]), as: UTF8.self)
            try context.database.withConnection { try ConnectionStore.recordSync(args.connectionId, requestsJSON: json, on: $0) }
        }
        // Meta counts the window from its own onboarding time, which may be earlier than ours.
        if outcome.windowClosed { return }
        guard RequestSync.types.allSatisfy({ after[$0] != nil }) else {
            throw JobError.retry(after: RequestSync.retryPolicy.delay(afterAttempt: context.attempt), "not every sync was accepted yet")
        }
    }
}
