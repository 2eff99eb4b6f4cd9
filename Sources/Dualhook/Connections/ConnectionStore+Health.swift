import Foundation
import Postgres

/// What a health poll read for a number.
struct HealthReading {
    let status: String?
    let qualityRating: String?
    let messagingLimitTier: String?
    let messagingLimit: String?
    let issues: [HealthSnapshot.Issue]
}

extension ConnectionStore {
    static let healthColumns = "c.health_status, c.quality_rating, c.messaging_limit, c.health_issues::text"

    static func snapshot(_ row: Row, at offset: Int) throws -> HealthSnapshot {
        let issues = try JSONDecoder().decode([HealthSnapshot.Issue].self, from: Data(try row.decode(String.self, at: offset + 3).utf8))
        return HealthSnapshot(status: try row.decode(at: offset), qualityRating: try row.decode(at: offset + 1),
                              messagingLimit: try row.decode(at: offset + 2), issues: issues)
    }

    static func issuesJSON(_ issues: [HealthSnapshot.Issue]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(issues), as: UTF8.self)
    }

    /// Changes one connection's health with `change`; any change of status, quality, limit or
    /// issues emits `connection.health_changed` with the previous and the current snapshot.
    /// `quietFirstReading`: the poll made when a connection is created reads its baseline,
    /// which is no change to announce.
    static func changeHealth(_ id: String, quietFirstReading: Bool = false, on tx: Connection,
                             _ change: (HealthSnapshot) -> (HealthSnapshot, tier: String?)) throws {
        guard let row = try tx.sql("""
            SELECT \(unescaped: ConnectionSubject.columns), \(unescaped: healthColumns), c.health_checked_at IS NULL FROM connections c
            WHERE c.id = \(id) AND c.status IN ('active', 'suspended') FOR UPDATE
            """).first else { return }
        let subject = try ConnectionSubject(row: row)
        let previous = try snapshot(row, at: ConnectionSubject.columnCount)
        let (current, tier) = change(previous)
        try tx.sql("""
            UPDATE connections SET health_status = \(current.status), quality_rating = \(current.qualityRating),
                messaging_limit = \(current.messagingLimit), health_issues = \(try issuesJSON(current.issues))::jsonb,
                messaging_limit_tier = COALESCE(\(tier), messaging_limit_tier), health_checked_at = now(), updated_at = now()
            WHERE id = \(id)
            """)
        let firstReading = try row.decode(Bool.self, at: ConnectionSubject.columnCount + 4)
        if current != previous && !(quietFirstReading && firstReading) {
            try Outbox.emit(ConnectionHealthChanged(previous: previous, current: current), about: subject, on: tx)
        }
    }

    /// A health poll's reading. Issues Dualhook raised itself (a scheduled disable) stay.
    static func recordHealth(_ id: String, reading: HealthReading, on tx: Connection) throws {
        try changeHealth(id, quietFirstReading: true, on: tx) { previous in
            let own = previous.issues.filter { $0.entity == HealthIssues.ownEntity }
            return (HealthSnapshot(status: reading.status ?? previous.status, qualityRating: reading.qualityRating ?? previous.qualityRating,
                                   messagingLimit: reading.messagingLimit ?? previous.messagingLimit,
                                   issues: reading.issues + own), reading.messagingLimitTier)
        }
    }

    /// A health read Meta refused: `issue` replaces an earlier refusal's and joins the issues
    /// last read (they still hold as far as anyone knows); said even at the first poll.
    static func recordReadRefused(_ id: String, issue: HealthSnapshot.Issue, on tx: Connection) throws {
        try changeHealth(id, on: tx) { previous in
            (HealthSnapshot(status: previous.status, qualityRating: previous.qualityRating, messagingLimit: previous.messagingLimit,
                            issues: previous.issues.filter { $0.entity != issue.entity } + [issue]), nil)
        }
    }

    /// The live connections of a WABA (those whose number matches `displayPhoneNumber`, when
    /// given).
    static func live(waba: String, displayPhoneNumber: String? = nil, on tx: Connection) throws -> [String] {
        try tx.sql("""
            SELECT id FROM connections
            WHERE waba_id = \(waba) AND status IN ('active', 'suspended') AND (\(displayPhoneNumber)::text IS NULL OR \(sameNumber("display_phone_number", displayPhoneNumber)))
            ORDER BY id
            """).rows.map { try $0.decode(String.self, at: 0) }
    }
}

/// Health issues Dualhook records from Meta's account updates, next to those a poll reads.
enum HealthIssues {
    /// The entity of the issues Dualhook raises from webhooks (a poll never reports them).
    static let ownEntity = "WABA_BAN_STATE"
    static let scheduledForDisable = "SCHEDULE_FOR_DISABLE"
}
