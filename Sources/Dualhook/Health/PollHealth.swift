import Foundation
import JobQueue
import Meta
import Postgres

/// Reads a connection's number at Meta (can it send, quality, messaging tier) into its health
/// snapshot. A token Meta no longer accepts (190) ends the connection: `connection.disconnected`
/// with `reason: "token_revoked"`.
public struct PollHealth: JobKind {
    public struct Args: Codable, Sendable {
        let connectionId: String
    }
    public static let kind = "connections.health_poll"
    public static let queue = "health"
    public static let timeout: TimeInterval = 30
    public static let retryPolicy = RetryPolicy.exponential(base: 30, maximum: 1800, maxAttempts: 5, jitter: 0.2)

    let meta: MetaAccess

    public init(_ meta: MetaAccess) { self.meta = meta }

    public func perform(_ args: Args, context: JobContext) throws {
        guard let row = try context.database.withConnection({
            try $0.query("SELECT phone_number_id, access_token FROM connections WHERE id = $1 AND status = 'active'",
                         [args.connectionId]).first
        }) else { return }
        let token = try meta.vault.openText(try row.decode(at: 1), associatedData: args.connectionId)
        let phone: GraphClient.PhoneNumber
        do {
            phone = try meta.graph.phoneNumber(try row.decode(at: 0), fields: GraphClient.healthFields, token: token,
                                               deadline: context.deadline)
        } catch let error as GraphError where error.isTokenInvalid {
            context.logger.info("token no longer accepted; disconnecting", ["connection": args.connectionId])
            try context.database.withConnection {
                try JobQueue.enqueue(Disconnect.self, .init(connectionId: args.connectionId, reason: "token_revoked", unsubscribe: false),
                                     options: JobOptions(uniqueKey: "disconnect:\(args.connectionId)"), on: $0)
            }
            return
        }
        try context.database.withConnection {
            try $0.query("""
                UPDATE connections SET health_status = COALESCE($2, health_status), quality_rating = COALESCE($3, quality_rating),
                    messaging_limit_tier = COALESCE($4, messaging_limit_tier), health_checked_at = now(), updated_at = now()
                WHERE id = $1 AND status = 'active'
                """, [args.connectionId, phone.health_status?.can_send_message, phone.quality_rating, phone.messaging_limit_tier])
        }
    }
}

/// The `health-poll` sweep: queues a poll, spread over the next minutes, for every live
/// connection not checked within the interval (`DUALHOOK_HEALTH_INTERVAL_SECONDS`, 6 h).
public struct HealthSweep: JobKind {
    public struct Args: Codable, Sendable {
        var intervalSeconds: Double
        public init(intervalSeconds: Double) { self.intervalSeconds = intervalSeconds }
    }
    public static let kind = "sweep.health_poll"
    public static let queue = "maintenance"
    public static let timeout: TimeInterval = 300
    public static let retryPolicy = RetryPolicy.fixed([60, 300])
    static let batch = 5000

    public init() {}

    public func perform(_ args: Args, context: JobContext) throws {
        var after = ""
        var queued = 0
        while !context.isCancelled {
            let ids = try context.database.withConnection { connection in
                try connection.query("""
                    SELECT id FROM connections
                    WHERE status = 'active' AND id > $1
                      AND (health_checked_at IS NULL OR health_checked_at < now() - make_interval(secs => $2))
                    ORDER BY id LIMIT $3
                    """, [after, args.intervalSeconds, HealthSweep.batch]).rows.map { try $0.decode(String.self, at: 0) }
            }
            guard let last = ids.last else { break }
            queued += try context.database.withConnection { connection in
                try JobQueue.enqueueMany(PollHealth.self, ids.map { .init(connectionId: $0) }, uniqueKeys: ids.map { "health:\($0)" },
                                         options: JobOptions(spread: min(600, args.intervalSeconds / 2)), on: connection)
            }
            after = last
            if ids.count < HealthSweep.batch { break }
        }
        if queued > 0 { context.logger.info("health polls queued", ["count": queued]) }
    }

    /// Every ten minutes; each connection is polled once per interval.
    public static func periodic(intervalSeconds: Double) -> PeriodicJob {
        PeriodicJob.sweep(HealthSweep.self, name: "health-poll", every: 600, args: Args(intervalSeconds: intervalSeconds))
    }
}
