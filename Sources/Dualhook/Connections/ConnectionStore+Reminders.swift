import Foundation
import HTTPServer
import Postgres

/// Reminders the sweeps send about connections; each is sent once, and the row remembers it.
extension ConnectionStore {
    /// Coexistence heartbeat reminders due now (`connection.heartbeat.due_soon` `lead` seconds
    /// before the due time, `.overdue` at it), at most `limit`, each once per cycle (the cycle it
    /// was sent for is kept on the row). Suspended numbers get none.
    static func sendHeartbeatReminders(_ type: EventType, lead: TimeInterval, limit: Int, on tx: Connection) throws -> Int {
        let column = type == .heartbeatOverdue ? "heartbeat_overdue_for" : "heartbeat_due_soon_for"
        let rows = try tx.sql("""
            UPDATE connections c SET \(unescaped: column) = \(unescaped: Heartbeat.cycle)
            FROM (SELECT c.id FROM connections c
                  WHERE c.status = 'active' AND c.connection_mode = 'coexistence'
                    AND now() >= \(unescaped: Heartbeat.cycle) + make_interval(secs => \(Heartbeat.period)::float8 - \(lead)::float8)
                    AND c.\(unescaped: column) IS DISTINCT FROM \(unescaped: Heartbeat.cycle)
                    AND (\(type == .heartbeatOverdue)::bool OR c.heartbeat_overdue_for IS DISTINCT FROM \(unescaped: Heartbeat.cycle))
                  ORDER BY c.id LIMIT \(limit) FOR UPDATE SKIP LOCKED) due
            WHERE c.id = due.id
            RETURNING \(unescaped: ConnectionSubject.columns), \(unescaped: Heartbeat.cycle) + make_interval(secs => \(Heartbeat.period)::float8)
            """).rows
        for row in rows {
            let due: Date = try row.decode(at: ConnectionSubject.columnCount)
            try Outbox.emit(ConnectionHeartbeat(dueAt: Response.timestamp(due)), type: type, about: try ConnectionSubject(row: row), on: tx)
        }
        return rows.count
    }

    /// The tenant opened the app: a new cycle, with `connection.heartbeat.confirmed`.
    static func confirmHeartbeat(_ id: String, on tx: Connection) throws {
        guard let row = try tx.sql("""
            UPDATE connections c SET heartbeat_confirmed_at = now(), updated_at = now() WHERE c.id = \(id)
            RETURNING \(unescaped: ConnectionSubject.columns), now() + make_interval(secs => \(Heartbeat.period))
            """).first else { return }
        let due: Date = try row.decode(at: ConnectionSubject.columnCount)
        try Outbox.emit(ConnectionHeartbeat(dueAt: Response.timestamp(due)), type: .heartbeatConfirmed,
                        about: try ConnectionSubject(row: row), on: tx)
    }

    /// `connection.token_expiring` for live connections whose token expires within `notice`
    /// seconds, once per token, at most `limit`.
    static func announceExpiringTokens(notice: TimeInterval, limit: Int, on tx: Connection) throws -> Int {
        let rows = try tx.sql("""
            UPDATE connections c SET token_expiring_notified_at = now()
            FROM (SELECT id FROM connections
                  WHERE status IN ('active', 'suspended') AND token_expires_at IS NOT NULL AND token_expiring_notified_at IS NULL
                    AND token_expires_at > now() AND token_expires_at <= now() + make_interval(secs => \(notice))
                  ORDER BY token_expires_at LIMIT \(limit) FOR UPDATE SKIP LOCKED) due
            WHERE c.id = due.id
            RETURNING \(unescaped: ConnectionSubject.columns), c.token_expires_at
            """).rows
        for row in rows {
            let expires: Date = try row.decode(at: ConnectionSubject.columnCount)
            try Outbox.emit(ConnectionTokenExpiring(tokenExpiresAt: Response.timestamp(expires)), about: try ConnectionSubject(row: row), on: tx)
        }
        return rows.count
    }
}
