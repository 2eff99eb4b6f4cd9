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

    /// Requests, in order, each sync not in `done`; stops at the first that fails (history
    /// waits for contacts). Returns `done` with what Meta accepted: its `request_id`, or ""
    /// for a sync Meta says was already requested. A token Meta no longer accepts, or Meta
    /// saying the 24 hours after onboarding have passed (2593108), is thrown: no later request
    /// can work.
    static func request(phone: String, done: [String: String], graph: GraphClient, token: String, context: JobContext) throws -> [String: String] {
        var done = done
        for type in types where done[type] == nil {
            do {
                done[type] = try graph.requestSync(phone: phone, type: type, token: token, deadline: context.deadline) ?? ""
            } catch let error as GraphError where error.isSyncAlreadyRequested {
                done[type] = ""
            } catch let error as GraphError where error.isTokenInvalid || error.isSyncWindowClosed {
                throw error
            } catch {
                context.logger.warning("coexistence sync request not accepted", ["phone_number_id": phone, "sync_type": type, "error": "\(error)"])
                break
            }
        }
        return done
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
        let requested: [String: String]?
        do {
            requested = try Disconnect.unlessTokenDead(args.connectionId, context: context, {
                try RequestSync.request(phone: phoneID, done: before, graph: meta.graph, token: token, context: context)
            })
        } catch let error as GraphError where error.isSyncWindowClosed {
            // Meta counts the window from its own onboarding time, which may be earlier than ours.
            context.logger.warning("coexistence sync window closed, Meta says", ["connection": args.connectionId, "error": "\(error)"])
            return
        }
        guard let after = requested else { return }
        if after != before {
            let json = String(decoding: try JSONSerialization.data(withJSONObject: after, options: [.sortedKeys]), as: UTF8.self)
            try context.database.withConnection { try ConnectionStore.recordSync(args.connectionId, requestsJSON: json, on: $0) }
        }
        guard RequestSync.types.allSatisfy({ after[$0] != nil }) else {
            throw JobError.retry(after: RequestSync.retryPolicy.delay(afterAttempt: context.attempt), "not every sync was accepted yet")
        }
    }
}
