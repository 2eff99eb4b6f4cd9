import Foundation
import HTTPServer
import Postgres

/// Failed sign-in attempts are limited per address and per email, in one-minute windows counted
/// in an unlogged table every front process shares. Every attempt is counted before it is
/// checked and a successful one is given back, so people who sign in often never lock
/// themselves (or their office's address) out.
enum SignInLimits {
    static let perAddress = 20
    static let perEmail = 5

    /// Counts one attempt against the address and the email, and answers whether either budget
    /// is now over. Counted before the password or code is checked, in the request's
    /// transaction: the row stays locked until it commits, so parallel attempts queue here and
    /// each sees the ones before it (checking first and counting after would let a burst through).
    static func take(address: String, email: String?, on connection: Connection) throws -> Bool {
        let scopes = SignInLimits.scopes(address: address, email: email)
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

    /// The rows an attempt counts in: its address's and its email's.
    static func scopes(address: String, email: String?) -> [String] {
        ["ip:" + address] + (email.map { ["email:" + $0.lowercased()] } ?? [])
    }

    /// Gives back the attempt `take` counted, once it succeeded (in the same transaction, so
    /// the same minute's window).
    static func giveBack(address: String, email: String?, on connection: Connection) throws {
        let scopes = SignInLimits.scopes(address: address, email: email)
        try connection.sql("""
            UPDATE sign_in_failures SET count = count - 1
            WHERE scope = ANY(\(scopes)::text[]) AND window_start = date_trunc('minute', now()) AND count > 0
            """)
    }
}

extension SignInLimits {
    /// A refusal with `Retry-After`: the seconds until the next one-minute window, when the
    /// count starts again.
    static func refused(_ page: Response) -> Response {
        var page = page
        let left = 60 - Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 60)
        page.headers.append(("Retry-After", String(max(1, Int(left.rounded(.up))))))
        return page
    }
}
