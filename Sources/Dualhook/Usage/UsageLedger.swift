import Foundation
import Postgres

/// Metering by connection-day, derived from `connection_status_changes` (the history a trigger
/// keeps), not from a counter a crash could skip: a connection counts on each UTC day of the
/// period it was `active` for any part of. A number counts once a day: disconnected and
/// onboarded again the same day (a new connection), that day goes to the first connection. A
/// closed period gives the same answer every time it is computed; the current one counts up
/// to now.
enum UsageLedger {
    struct Line: Codable, Sendable {
        let connectionId: String
        let tenantId: String
        let activeDays: Int
    }

    struct Usage: Codable, Sendable {
        struct PlanView: Codable, Sendable {
            let name: String
            let currency: String
            let monthlyPrice: String
            let includedConnections: Int
            let extraConnectionPrice: String
            let trialDays: Int
        }
        let accountId: String
        let period: String
        let plan: PlanView
        let trialEndsAt: Date
        let connectionDays: Int
        let billableConnections: String
        let extraConnections: String
        let estimatedAmount: String
        let connections: [Line]
    }

    /// Active days per connection for accounts (all when nil), in one statement.
    static func lines(accountID: String?, period: BillingPeriod, on connection: Connection) throws -> [String: [Line]] {
        var filter: PostgresQuery = "true"
        if let accountID { filter = "account_id = \(accountID)" }
        var out: [String: [Line]] = [:]
        for row in try connection.sql("""
            WITH changes AS (
                SELECT connection_id, account_id, tenant_id, status, at,
                       lead(at) OVER (PARTITION BY connection_id ORDER BY at) AS until
                FROM connection_status_changes WHERE \(filter) AND at < \(period.end)),
            active AS (
                SELECT connection_id, account_id, tenant_id, greatest(at, \(period.start)) AS s,
                       least(coalesce(until, 'infinity'), \(period.end), now()) AS e
                FROM changes WHERE status = 'active' AND coalesce(until, 'infinity') > \(period.start)),
            days AS (
                SELECT DISTINCT ON (a.account_id, c.phone_number_id, d) a.connection_id, a.account_id, a.tenant_id, d
                FROM active a JOIN connections c ON c.id = a.connection_id,
                     generate_series(date_trunc('day', a.s AT TIME ZONE 'UTC'),
                                     (a.e - interval '1 microsecond') AT TIME ZONE 'UTC', interval '1 day') AS d
                WHERE a.e > a.s
                ORDER BY a.account_id, c.phone_number_id, d, c.created_at, a.connection_id)
            SELECT account_id, connection_id, min(tenant_id), count(*)::int FROM days
            GROUP BY account_id, connection_id ORDER BY account_id, connection_id
            """).rows {
            out[try row.decode(at: 0), default: []].append(Line(connectionId: try row.decode(at: 1), tenantId: try row.decode(at: 2),
                                                                activeDays: try row.decode(at: 3)))
        }
        return out
    }

    /// The account's ledger and what it will pay. Billable connections = connection-days ÷ days
    /// in the period (kept exact); extra = billable − included when positive; amount = monthly
    /// price + extra × extra price, rounded half-up to the cent once. A period that ends before
    /// the trial does is not billed (0.00).
    static func usage(accountID: String, plan: Plan, trialEndsAt: Date, period: BillingPeriod, lines: [Line]) -> Usage {
        let days = lines.reduce(0) { $0 + $1.activeDays }
        let billable = Decimal(days) / Decimal(period.days)
        // Extra connection-days over what the plan includes, divided once and last, so an
        // amount that is a whole number of half cents stays exact before it is rounded.
        let extraDays = max(0, days - plan.includedConnections * period.days)
        let extra = Decimal(extraDays) / Decimal(period.days)
        let monthly = Money.parse(plan.monthlyPrice) ?? 0
        let extraPrice = Money.parse(plan.extraConnectionPrice) ?? 0
        let amount = period.end <= trialEndsAt ? Decimal(0) : monthly + Decimal(extraDays) * extraPrice / Decimal(period.days)
        return Usage(accountId: accountID, period: period.text,
                     plan: .init(name: plan.name, currency: plan.currency, monthlyPrice: Money.text(monthly),
                                 includedConnections: plan.includedConnections, extraConnectionPrice: Money.text(extraPrice),
                                 trialDays: plan.trialDays),
                     trialEndsAt: trialEndsAt, connectionDays: days, billableConnections: Money.text(billable),
                     extraConnections: Money.text(extra), estimatedAmount: Money.text(amount), connections: lines)
    }

    static let storeEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()
    static let storeDecoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()

    /// A closed month's usage as first computed after it ended (`usage_statements`): stored on
    /// first use, then read, so a plan changed later does not re-price it. The current month is
    /// computed each time.
    static func statement(accountID: String, plan: Plan, trialEndsAt: Date, period: BillingPeriod, on connection: Connection) throws -> Usage {
        let compute = { () throws -> Usage in
            let lines = try lines(accountID: accountID, period: period, on: connection)[accountID] ?? []
            return usage(accountID: accountID, plan: plan, trialEndsAt: trialEndsAt, period: period, lines: lines)
        }
        guard period.end <= Date() else { return try compute() }
        if let stored = try connection.sql("""
            SELECT statement::text FROM usage_statements WHERE account_id = \(accountID) AND period = \(period.text)
            """).scalar(String.self) {
            return try storeDecoder.decode(Usage.self, from: Data(stored.utf8))
        }
        let made = try compute()
        try keep([made], on: connection)
        return made
    }

    /// Stores closed months' statements; one already stored stays as it is.
    static func keep(_ statements: [Usage], on connection: Connection) throws {
        guard !statements.isEmpty else { return }
        let texts = try statements.map { String(decoding: try storeEncoder.encode($0), as: UTF8.self) }
        try connection.sql("""
            INSERT INTO usage_statements (account_id, period, statement)
            SELECT a, p, s::jsonb FROM unnest(\(statements.map(\.accountId))::text[], \(statements.map(\.period))::text[], \(texts)::text[]) AS t(a, p, s)
            ON CONFLICT (account_id, period) DO NOTHING
            """)
    }

    /// Every account's usage for a period (the CLI's report); a closed month's from the stored
    /// statements, made and stored for the accounts that have none yet.
    static func report(period: BillingPeriod, on connection: Connection) throws -> [Usage] {
        guard period.end <= Date() else { return try compute(period: period, on: connection) }
        var stored: [String: Usage] = [:]
        for row in try connection.sql("SELECT account_id, statement::text FROM usage_statements WHERE period = \(period.text)").rows {
            stored[try row.decode(at: 0)] = try storeDecoder.decode(Usage.self, from: Data(try row.decode(String.self, at: 1).utf8))
        }
        let ids = try connection.sql("SELECT id FROM accounts ORDER BY id").rows.map { try $0.decode(String.self, at: 0) }
        if ids.contains(where: { stored[$0] == nil }) {
            let made = try compute(period: period, on: connection).filter { stored[$0.accountId] == nil }
            try keep(made, on: connection)
            for usage in made { stored[usage.accountId] = usage }
        }
        return ids.compactMap { stored[$0] }
    }

    /// Makes and stores a closed month's statements for the accounts that have none yet; when
    /// every account has one (every hourly run after the first of a month), reads nothing more
    /// than that answer.
    static func keepStatements(period: BillingPeriod, on connection: Connection) throws {
        let missing = try connection.sql("""
            SELECT EXISTS (SELECT 1 FROM accounts a
                           WHERE NOT EXISTS (SELECT 1 FROM usage_statements s WHERE s.account_id = a.id AND s.period = \(period.text)))
            """).scalar(Bool.self) ?? false
        if missing { _ = try report(period: period, on: connection) }
    }

    /// Every account's usage computed from the history now.
    static func compute(period: BillingPeriod, on connection: Connection) throws -> [Usage] {
        let lines = try lines(accountID: nil, period: period, on: connection)
        return try connection.sql("""
            SELECT a.id, \(unescaped: PlanStore.columns), \(unescaped: PlanStore.trialEndsSQL)
            FROM accounts a JOIN plans p ON p.name = a.plan ORDER BY a.id
            """).rows.map { row in
            let id: String = try row.decode(at: 0)
            return usage(accountID: id, plan: try PlanStore.plan(row, at: 1), trialEndsAt: try row.decode(at: 8), period: period,
                         lines: lines[id] ?? [])
        }
    }
}
