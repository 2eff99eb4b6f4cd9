import Foundation
import JobQueue
import Postgres

/// The `token-expiry` sweep, for tokens the code exchange gave an `expires_in`: 7 days before
/// `tokenExpiresAt` the account gets `connection.token_expiring` (once per token), and a
/// connection whose token has expired is disconnected with `token_expired` (Meta no longer
/// accepts it, so there is nothing to unsubscribe with).
public struct TokenExpiry: JobKind {
    public struct Args: Codable, Sendable {}
    public static let kind = "sweep.token_expiry"
    public static let queue = "maintenance"
    public static let timeout: TimeInterval = 120
    public static let retryPolicy = RetryPolicy.fixed([60, 300])
    static let notice: TimeInterval = 7 * 86_400

    public init() {}

    public func perform(_ args: Args, context: JobContext) throws {
        let warned = try context.inBatches(of: 500) {
            try context.database.transaction { try ConnectionStore.announceExpiringTokens(notice: TokenExpiry.notice, limit: 500, on: $0) }
        }
        let expired = try context.database.withConnection { connection -> Int in
            let ids = try connection.sql("""
                SELECT id FROM connections WHERE status IN ('active', 'suspended') AND token_expires_at <= now()
                ORDER BY token_expires_at LIMIT 5000
                """).rows.map { try $0.decode(String.self, at: 0) }
            for id in ids { try Disconnect.enqueue(id, reason: .tokenExpired, unsubscribe: false, on: connection) }
            return ids.count
        }
        if warned + expired > 0 { context.logger.info("token expiry", ["expiring": warned, "expired": expired]) }
    }

    /// Hourly.
    public static func periodic() -> PeriodicJob {
        PeriodicJob.sweep(TokenExpiry.self, name: "token-expiry", every: 3600, args: Args())
    }
}
