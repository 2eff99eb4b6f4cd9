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
        for (type, lead) in [(EventType.heartbeatOverdue, 0.0), (EventType.heartbeatDueSoon, args.warningSeconds)] {
            sent += try context.inBatches(of: 500) {
                try context.database.transaction { tx in
                    try ConnectionStore.sendHeartbeatReminders(type, lead: lead, limit: 500, on: tx)
                }
            }
        }
        if sent > 0 { context.logger.info("heartbeat reminders", ["count": sent]) }
    }

    /// Hourly.
    public static func periodic(warningSeconds: Double) -> PeriodicJob {
        PeriodicJob.sweep(Heartbeat.self, name: "heartbeat", every: 3600, args: Args(warningSeconds: warningSeconds))
    }

    /// `POST /api/v1/connections/{id}/heartbeat/confirm`: the tenant opened the app.
    static func confirm(_ context: APIContext) throws -> Response {
        let id = context.request.parameters["id"] ?? ""
        try confirm(id, accountID: context.account.accountID, on: context.connection)
        return JSONResponse.make(200, try ConnectionView.find(id, accountID: context.account.accountID, on: context.connection))
    }

    /// The API's confirm and the dashboard's share this.
    static func confirm(_ id: String, accountID: String, on connection: Connection) throws {
        guard let row = try connection.sql("""
            SELECT status, connection_mode FROM connections WHERE id = \(id) AND account_id = \(accountID) FOR UPDATE
            """).first else {
            throw APIError.notFound("connection \(id)")
        }
        guard try row.decode(String.self, at: 0) == "active", try row.decode(String.self, at: 1) == "coexistence" else {
            throw APIError(status: 409, code: "conflict", message: "the heartbeat applies to active Coexistence connections only")
        }
        try ConnectionStore.confirmHeartbeat(id, on: connection)
    }
}
