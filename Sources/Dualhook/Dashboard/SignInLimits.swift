import Foundation
import Postgres

/// Failed sign-ins are limited per address and per email, in one-minute windows counted in an
/// unlogged table every front process shares.
enum SignInLimits {
    static let perAddress = 20
    static let perEmail = 5

    /// True when either budget is already spent.
    static func exceeded(address: String, email: String?, on connection: Connection) throws -> Bool {
        let scopes = ["ip:" + address] + (email.map { ["email:" + $0.lowercased()] } ?? [])
        let counts = try connection.sql("""
            SELECT scope, count FROM sign_in_failures WHERE scope = ANY(\(scopes)::text[]) AND window_start = date_trunc('minute', now())
            """).rows
        for row in counts {
            let scope: String = try row.decode(at: 0)
            let count: Int = try row.decode(at: 1)
            if count >= (scope.hasPrefix("ip:") ? perAddress : perEmail) { return true }
        }
        return false
    }

    /// Counts one failure against the address and the email (the refusal is answered, not
    /// thrown, so the request's transaction commits it).
    static func fail(address: String, email: String?, on connection: Connection) throws {
        let scopes = ["ip:" + address] + (email.map { ["email:" + $0.lowercased()] } ?? [])
        try connection.sql("""
            INSERT INTO sign_in_failures (scope, window_start, count)
            SELECT s, date_trunc('minute', now()), 1 FROM unnest(\(scopes)::text[]) AS s
            ON CONFLICT (scope, window_start) DO UPDATE SET count = sign_in_failures.count + 1
            """)
        try connection.sql("DELETE FROM sign_in_failures WHERE window_start < now() - interval '10 minutes'")
    }
}
