import Foundation
import HTTPServer
import Postgres

/// Fixed one-minute windows per API key, counted in Postgres so every front process shares
/// the budget. Authentication and counting are one statement.
struct RateLimitWindow {
    let limit: Int
    let used: Int
    let resetAt: Int64

    var remaining: Int { max(0, limit - used) }
    var exceeded: Bool { used > limit }

    /// Sets the headers unless the route answered with those of a budget of its own.
    func apply(to response: inout Response) {
        guard response.header("X-RateLimit-Limit") == nil else { return }
        response.setHeader("X-RateLimit-Limit", String(limit))
        response.setHeader("X-RateLimit-Remaining", String(remaining))
        response.setHeader("X-RateLimit-Reset", String(resetAt))
    }

    var retryAfter: Int { max(1, Int(resetAt - Int64(Date().timeIntervalSince1970))) }

    /// Finds the live key with this hash and counts one request in its current window.
    static func authenticate(keyHash: Data, on connection: Connection) throws -> (Caller, RateLimitWindow)? {
        let result = try connection.sql("""
            WITH key AS (
                SELECT k.id, k.account_id, a.rate_limit_per_minute AS lim, a.redirect_origins::text AS origins,
                       \(unescaped: PlanStore.onboardingBlockedSQL) AS blocked
                FROM api_keys k JOIN accounts a ON a.id = k.account_id JOIN plans p ON p.name = a.plan
                WHERE k.key_hash = \(keyHash) AND k.revoked_at IS NULL),
            counted AS (
                INSERT INTO rate_limit_windows (key_id, budget, window_start, count)
                SELECT id, 'api', date_trunc('minute', now()), 1 FROM key
                ON CONFLICT (key_id, budget, window_start) DO UPDATE SET count = rate_limit_windows.count + 1
                RETURNING count, window_start)
            SELECT key.id, key.account_id, key.lim, counted.count, extract(epoch FROM counted.window_start)::bigint + 60, key.origins,
                   key.blocked
            FROM key, counted
            """)
        guard let row = result.first else { return nil }
        return (Caller(accountID: try row.decode(at: 1), keyID: try row.decode(at: 0),
                       redirectOrigins: PostgresTextArray.parse(try row.decode(String.self, at: 5)),
                       onboardingBlocked: try row.decode(at: 6)),
                RateLimitWindow(limit: try row.decode(at: 2), used: try row.decode(at: 3), resetAt: try row.decode(at: 4)))
    }
}
