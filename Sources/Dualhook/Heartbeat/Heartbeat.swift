import Foundation
import HTTPServer
import JobQueue
import Postgres

/// The Coexistence heartbeat: Meta needs a Coexistence number opened in the WhatsApp Business
/// app within 14 days, so Dualhook counts 13 from the last confirmation (onboarding is the
/// first), emits `connection.heartbeat.due_soon` a day before (`DUALHOOK_HEARTBEAT_WARNING_SECONDS`)
/// and `connection.heartbeat.overdue` when the 13 days are up, each once per cycle;
/// `POST …/heartbeat/confirm` starts a new cycle with `connection.heartbeat.confirmed`.
public struct Heartbeat: JobKind {
    public struct Args: Codable, Sendable {
        var warningSeconds: Double
        public init(warningSeconds: Double) { self.warningSeconds = warningSeconds }
    }
    public static let kind = "sweep.heartbeat"
    public static let queue = "maintenance"
    public static let timeout: TimeInterval = 120
    public static let retryPolicy = RetryPolicy.fixed([60, 300])

    public init() {}

    static let cycle = "COALESCE(c.heartbeat_confirmed_at, c.created_at)"
    /// Meta's window is 14 days; the count is 13, to leave a day to act.
    static let period: TimeInterval = 13 * 86_400
    public static let defaultWarning: TimeInterval = 86_400

    public func perform(_ args: Args, context: JobContext) throws {
        var sent = 0
        // Overdue first, so a connection found already overdue gets no `due_soon` for that cycle.
        for (type, column, lead) in [
            ("connection.heartbeat.overdue", "heartbeat_overdue_for", 0.0),
            ("connection.heartbeat.due_soon", "heartbeat_due_soon_for", args.warningSeconds),
        ] {
            sent += try context.inBatches(of: 500) {
                try context.database.transaction { tx in
                    // Each reminder once per cycle: the cycle it was sent for is kept on the row.
                    let rows = try tx.query("""
                        UPDATE connections c SET \(column) = \(Heartbeat.cycle)
                        FROM (SELECT c.id FROM connections c
                              WHERE c.status = 'active' AND c.connection_mode = 'coexistence'
                                AND now() >= \(Heartbeat.cycle) + make_interval(secs => $3::float8 - $1::float8)
                                AND c.\(column) IS DISTINCT FROM \(Heartbeat.cycle)
                                AND ($2::bool OR c.heartbeat_overdue_for IS DISTINCT FROM \(Heartbeat.cycle))
                              ORDER BY c.id LIMIT 500 FOR UPDATE SKIP LOCKED) due
                        WHERE c.id = due.id
                        RETURNING c.id, c.account_id, c.tenant_id, c.session_id, c.waba_id, c.phone_number_id,
                                  \(Heartbeat.cycle) + make_interval(secs => $3::float8),
                                  (SELECT s.metadata::text FROM onboarding_sessions s WHERE s.id = c.session_id)
                        """, [lead, type == "connection.heartbeat.overdue", Heartbeat.period]).rows
                    for row in rows {
                        try Heartbeat.emit(type, row: row, on: tx)
                    }
                    return rows.count
                }
            }
        }
        if sent > 0 { context.logger.info("heartbeat reminders", ["count": sent]) }
    }

    static func emit(_ type: String, row: Row, on tx: Connection) throws {
        let data = Outbox.data([
            "tenantId": try row.decode(String.self, at: 2), "sessionId": try row.decode(String?.self, at: 3),
            "connectionId": try row.decode(String.self, at: 0), "wabaId": try row.decode(String.self, at: 4),
            "phoneNumberId": try row.decode(String.self, at: 5), "dueAt": Response.timestamp(try row.decode(Date.self, at: 6)),
        ], metadataJSON: try row.decode(String?.self, at: 7) ?? "{}")
        try Outbox.emit(type: type, accountID: try row.decode(at: 1), dataJSON: data, on: tx)
    }

    /// Hourly.
    public static func periodic(warningSeconds: Double) -> PeriodicJob {
        PeriodicJob.sweep(Heartbeat.self, name: "heartbeat", every: 3600, args: Args(warningSeconds: warningSeconds))
    }

    /// `POST /api/v1/connections/{id}/heartbeat/confirm`: the tenant opened the app.
    static func confirm(_ context: APIContext) throws -> Response {
        let id = context.request.parameters["id"] ?? ""
        guard let row = try context.connection.query("""
            SELECT status, connection_mode FROM connections WHERE id = $1 AND account_id = $2 FOR UPDATE
            """, [id, context.account.accountID]).first else {
            throw APIError.notFound("connection \(id)")
        }
        guard try row.decode(String.self, at: 0) == "active", try row.decode(String.self, at: 1) == "coexistence" else {
            throw APIError(status: 409, code: "conflict", message: "the heartbeat applies to active Coexistence connections only")
        }
        let confirmed = try context.connection.query("""
            UPDATE connections c SET heartbeat_confirmed_at = now(), updated_at = now() WHERE c.id = $1
            RETURNING c.id, c.account_id, c.tenant_id, c.session_id, c.waba_id, c.phone_number_id, now() + make_interval(secs => $2),
                      (SELECT s.metadata::text FROM onboarding_sessions s WHERE s.id = c.session_id)
            """, [id, Heartbeat.period]).first!
        try emit("connection.heartbeat.confirmed", row: confirmed, on: context.connection)
        return JSONResponse.make(200, try ConnectionView.find(id, accountID: context.account.accountID, on: context.connection))
    }
}
