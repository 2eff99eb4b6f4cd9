import Foundation
import JobQueue
import Postgres

/// The `expire-sessions` sweep: sessions past their expiry that nobody finished become
/// `expired`, each with an `onboarding.failed` event (reason `expired`) in the same transaction.
/// A session `exchanging` for more than 15 minutes lost its exchange job (a worker killed during
/// the last attempt; all five attempts end within about three minutes, plus at most eight of
/// waiting for Meta's rate limits, `Provisioning.step`): it fails with `meta_error`.
public struct ExpireSessions: JobKind {
    public struct Args: Codable, Sendable {
        public init() {}
    }
    public static let kind = "sweep.expire_sessions"
    public static let queue = "maintenance"
    public static let timeout: TimeInterval = 120
    public static let retryPolicy = RetryPolicy.fixed([30, 120])

    public init() {}

    public func perform(_ args: Args, context: JobContext) throws {
        let total = try context.inBatches(of: 500) {
            try context.database.transaction { tx in
                let count = try Outbox.emitAll(type: .onboardingFailed, with: """
                    WITH due AS (
                        SELECT id FROM onboarding_sessions
                        WHERE status IN ('created', 'opened') AND expires_at < now()
                        ORDER BY expires_at LIMIT 500 FOR UPDATE SKIP LOCKED),
                    expired AS (
                        UPDATE onboarding_sessions s SET status = 'expired', failure_reason = 'expired'
                        FROM due WHERE s.id = due.id
                        RETURNING s.id, s.account_id, s.tenant_id, s.metadata)
                    """, rows: """
                    SELECT account_id,
                           jsonb_build_object('tenantId', tenant_id, 'sessionId', id, 'reason', 'expired', 'metadata', metadata) AS data
                    FROM expired
                    """, on: tx)
                tx.afterCommit { Counters.shared.add("dualhook_onboarding_outcomes_total", [("outcome", "failed"), ("reason", "expired")], by: count) }
                return count
            }
        }
        if total > 0 { context.logger.info("expired onboarding sessions", ["count": total]) }
        let stuck = try context.database.transaction { tx in
            let count = try Outbox.emitAll(type: .onboardingFailed, with: """
                WITH due AS (
                    SELECT id FROM onboarding_sessions
                    WHERE status = 'exchanging' AND exchanging_since < now() - interval '15 minutes'
                    ORDER BY exchanging_since LIMIT 500 FOR UPDATE SKIP LOCKED),
                failed AS (
                    UPDATE onboarding_sessions s SET status = 'failed', failure_reason = 'meta_error',
                        exchanged_token = NULL, registration_pins = '{}'
                    FROM due WHERE s.id = due.id
                    RETURNING s.id, s.account_id, s.tenant_id, s.metadata, s.waba_id)
                """, rows: """
                -- The WABA is named when the session had claimed one, as every event names it
                -- when known (API.md).
                SELECT account_id,
                       jsonb_build_object('tenantId', tenant_id, 'sessionId', id, 'reason', 'meta_error',
                                          'error', 'provisioning stopped without an outcome', 'metadata', metadata)
                       || CASE WHEN waba_id IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('wabaId', waba_id) END AS data
                FROM failed
                """, on: tx)
            tx.afterCommit { Counters.shared.add("dualhook_onboarding_outcomes_total", [("outcome", "failed"), ("reason", "meta_error")], by: count) }
            return count
        }
        if stuck > 0 { context.logger.warning("failed onboarding sessions whose exchange was lost", ["count": stuck]) }
    }

    /// Every minute.
    public static func periodic() -> PeriodicJob {
        PeriodicJob.sweep(ExpireSessions.self, name: "expire-sessions", every: 60, args: Args())
    }
}
