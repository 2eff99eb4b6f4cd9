import Foundation
import Postgres

/// The only writer of `audit_events`: every change made from the dashboard or the console.
enum AuditTrail {
    static func record(_ action: String, target: String?, accountID: String?, user: DashboardUser, detail: [String: String] = [:],
                       clientIP: String, on tx: Connection) throws {
        let json = String(decoding: (try? JSONSerialization.data(withJSONObject: detail, options: [.sortedKeys])) ?? Data("{}".utf8),
                          as: UTF8.self)
        try tx.sql("""
            INSERT INTO audit_events (id, account_id, user_id, action, target, detail, client_ip)
            VALUES (\(Identifiers.make("aud")), \(accountID), \(user.id), \(action), \(target), \(json)::jsonb, \(clientIP))
            """)
    }
}
