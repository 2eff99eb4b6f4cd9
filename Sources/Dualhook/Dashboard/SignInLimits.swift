import Foundation
import Postgres

/// Sign-in attempts are limited per address and per email, in one-minute windows counted in an
/// unlogged table every front process shares (a successful attempt counts too).
enum SignInLimits {
    static let perAddress = 20
    static let perEmail = 5

    /// Counts one attempt against the address and the email, and answers whether either budget
    /// is now over. Counted before the password or code is checked, in the request's
    /// transaction: the row stays locked until it commits, so parallel attempts queue here and
    /// each sees the ones before it (checking first and counting after would let a burst through).
    static func take(address: String, email: String?, on connection: Connection) throws -> Bool {
        let scopes = ["ip:" + address] + (email.map { ["email:" + $0.lowercased()] } ?? [])
        let counts = try connection.sql("""
            INSERT INTO sign_in_failures (scope, window_start, count)
            SELECT s, date_trunc('minute', now()), 1 FROM unnest(\(scopes)::text[]) AS s
            ON CONFLICT (scope, window_start) DO UPDATE SET count = sign_in_failures.count + 1
            RETURNING scope, count
            """).rows
        try connection.sql("DELETE FROM sign_in_failures WHERE window_start < now() - interval '10 minutes'")
        for row in counts {
            let scope: String = try row.decode(at: 0)
            if try row.decode(Int.self, at: 1) > (scope.hasPrefix("ip:") ? perAddress : perEmail) { return true }
        }
        return false
    }
}
