import Crypto
import Foundation
import JobQueue
import Meta

/// Polls Meta for a number whose mode was `unknown` at onboarding until Meta settles it, then
/// finishes what onboarding would have done for that mode and emits `connection.mode_resolved`.
/// Meta settles a number as Cloud API only once it is registered (`platform_type` becomes
/// `CLOUD_API`), so nothing is left to register then; a Coexistence number gets the app's sync.
public struct ResolveMode: JobKind {
    public struct Args: Codable, Sendable {
        let connectionId: String
    }
    public static let kind = "connections.resolve_mode"
    public static let queue = "meta"
    public static let timeout: TimeInterval = 30
    /// Meta usually settles within minutes; polls thin out to hourly and stop after about
    /// three days (the number stays `unknown`, still live).
    public static let retryPolicy = RetryPolicy.fixed([60, 120, 300, 600, 1800] + Array(repeating: 3600, count: 70))
    static let firstPoll: TimeInterval = 30

    let meta: MetaAccess
    var vault: Vault { meta.vault }
    var graph: GraphClient { meta.graph }

    public init(_ meta: MetaAccess) { self.meta = meta }

    public func perform(_ args: Args, context: JobContext) throws {
        guard let row = try context.database.withConnection({ connection in
            try connection.sql("""
                SELECT phone_number_id, access_token FROM connections
                WHERE id = \(args.connectionId) AND status = 'active' AND connection_mode = 'unknown'
                """).first
        }) else { return }  // settled, or disconnected
        let phoneID: String = try row.decode(at: 0)
        let token = try vault.openText(try row.decode(at: 1), associatedData: args.connectionId)
        guard let phone = try Disconnect.unlessTokenDead(args.connectionId, context: context, {
            try graph.phoneNumber(phoneID, token: token, deadline: context.deadline)
        }) else { return }
        let mode = ConnectionMode.of(phone)
        guard mode != .unknown else {
            throw JobError.retry(after: ResolveMode.retryPolicy.delay(afterAttempt: context.attempt), "Meta has not settled the number's mode yet")
        }
        try context.database.transaction { tx in
            try ConnectionStore.settleMode(args.connectionId, mode: mode, on: tx)
            if mode == .coexistence { try RequestSync.enqueue(args.connectionId, after: 0, on: tx) }
        }
    }
}
