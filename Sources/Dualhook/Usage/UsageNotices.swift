import Foundation
import JobQueue
import Postgres

/// The `usage` sweep: `account.trial_ending` three days before a trial without a chosen plan
/// ends, and `usage.threshold` when an account's active connections reach 80% and 100% of what
/// its plan includes. Each notice is sent once per account and period: the insert into
/// `usage_notices` that lands emits it, so any number of schedulers and workers may run this.
public struct UsageNotices: JobKind {
    public struct Args: Codable, Sendable {
        public init() {}
    }
    public static let kind = "sweep.usage"
    public static let queue = "maintenance"
    public static let timeout: TimeInterval = 300
    public static let retryPolicy = RetryPolicy.fixed([60, 300])

    public init() {}

    struct TrialEnding: Encodable {
        let trialEndsAt: Date
        let plan: String
    }

    struct Threshold: Encodable {
        let percent: Int
        let period: String
        let activeConnections: Int
        let includedConnections: Int
    }

    public func perform(_ args: Args, context: JobContext) throws {
        let current = BillingPeriod(containing: Date())
        let period = current.text
        // The month that just closed is kept as first computed (usage_statements): made here in
        // the first run of the next month, before anyone changes a plan.
        try context.database.withConnection { connection in
            try UsageLedger.keepStatements(period: BillingPeriod(containing: current.start.addingTimeInterval(-86_400)), on: connection)
        }
        try context.database.transaction { tx in
            let ending = try tx.sql("""
                WITH due AS (
                    SELECT a.id, \(unescaped: PlanStore.trialEndsSQL) AS ends, p.name
                    FROM accounts a JOIN plans p ON p.name = a.plan
                    WHERE a.plan_chosen_at IS NULL AND p.trial_days > 0
                      AND \(unescaped: PlanStore.trialEndsSQL) BETWEEN now() AND now() + interval '3 days'),
                sent AS (
                    INSERT INTO usage_notices (account_id, period, notice)
                    SELECT id, to_char(ends AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 'trial_ending' FROM due
                    ON CONFLICT DO NOTHING RETURNING account_id)
                SELECT due.id, due.ends, due.name FROM due JOIN sent ON sent.account_id = due.id
                """).rows
            for row in ending {
                try Outbox.emit(type: .accountTrialEnding, accountID: try row.decode(at: 0),
                                dataJSON: try Outbox.json(TrialEnding(trialEndsAt: try row.decode(at: 1), plan: try row.decode(at: 2))), on: tx)
            }
            let reached = try tx.sql("""
                WITH live AS (
                    SELECT a.id, p.included_connections AS included,
                           (SELECT count(*) FROM connections c WHERE c.account_id = a.id AND c.status = 'active')::int AS active
                    FROM accounts a JOIN plans p ON p.name = a.plan WHERE p.included_connections > 0),
                due AS (
                    SELECT id, included, active, pct FROM live, unnest(ARRAY[80, 100]) AS pct
                    WHERE active * 100 >= included * pct),
                sent AS (
                    INSERT INTO usage_notices (account_id, period, notice)
                    SELECT id, \(period), 'threshold_' || pct FROM due
                    ON CONFLICT DO NOTHING RETURNING account_id, notice)
                SELECT due.id, due.pct, due.active, due.included FROM due
                JOIN sent ON sent.account_id = due.id AND sent.notice = 'threshold_' || due.pct
                ORDER BY due.id, due.pct
                """).rows
            for row in reached {
                try Outbox.emit(type: .usageThreshold, accountID: try row.decode(at: 0),
                                dataJSON: try Outbox.json(Threshold(percent: try row.decode(at: 1), period: period,
                                                                    activeConnections: try row.decode(at: 2),
                                                                    includedConnections: try row.decode(at: 3))), on: tx)
            }
            if !ending.isEmpty || !reached.isEmpty {
                context.logger.info("usage notices sent", ["trial_ending": ending.count, "thresholds": reached.count])
            }
        }
    }

    /// Hourly.
    public static func periodic() -> PeriodicJob {
        PeriodicJob.sweep(UsageNotices.self, name: "usage", every: 3600, args: Args())
    }
}
