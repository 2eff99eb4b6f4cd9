import Foundation
import Postgres

/// A plan: what an account pays per month, how many connections that includes, the price of
/// each extra one, its trial, and what happens when a trial ends with no plan chosen.
public struct Plan: Codable, Sendable, Equatable {
    public enum AfterTrial: String, Codable, Sendable, CaseIterable {
        /// Nothing changes; the account keeps onboarding.
        case `continue`
        /// New onboarding sessions answer 402 `plan_required` until a plan is set.
        case blockOnboarding = "block_onboarding"
    }

    public let name: String
    public let currency: String
    /// Decimal strings, as amounts are everywhere in the API.
    public let monthlyPrice: String
    public let includedConnections: Int
    public let extraConnectionPrice: String
    public let trialDays: Int
    public let afterTrial: AfterTrial
}

/// The only writer of `plans` and of an account's plan.
public enum PlanStore {
    static let columns = "p.name, p.currency, p.monthly_price::text, p.included_connections, p.extra_connection_price::text, p.trial_days, p.after_trial"
    /// When an account's trial ends, in a statement over `accounts a JOIN plans p`.
    static let trialEndsSQL = "a.created_at + make_interval(days => p.trial_days)"
    /// The trial is over with no plan chosen, on a plan that then stops onboarding (same tables).
    static let onboardingBlockedSQL = "a.plan_chosen_at IS NULL AND p.after_trial = 'block_onboarding' AND \(trialEndsSQL) < now()"

    static func plan(_ row: Row, at offset: Int = 0) throws -> Plan {
        Plan(name: try row.decode(at: offset), currency: try row.decode(at: offset + 1), monthlyPrice: try row.decode(at: offset + 2),
             includedConnections: try row.decode(at: offset + 3), extraConnectionPrice: try row.decode(at: offset + 4),
             trialDays: try row.decode(at: offset + 5), afterTrial: Plan.AfterTrial(rawValue: try row.decode(at: offset + 6)) ?? .continue)
    }

    public struct InvalidPlan: Error, CustomStringConvertible {
        public let description: String
    }

    /// Creates or changes a plan. Prices are decimals with at most two places.
    public static func set(name: String, currency: String, monthlyPrice: String, included: Int, extraPrice: String, trialDays: Int,
                           afterTrial: Plan.AfterTrial, on connection: Connection) throws -> Plan {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw InvalidPlan(description: "plan name must be 1 to 64 letters, digits, - or _")
        }
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw InvalidPlan(description: "currency must be an ISO 4217 code such as EUR")
        }
        for (flag, price) in [("monthly-price", monthlyPrice), ("extra-price", extraPrice)] where Money.parse(price) == nil {
            throw InvalidPlan(description: "--\(flag) must be a non-negative amount with at most two decimals, e.g. 99 or 4.50")
        }
        guard included >= 0, trialDays >= 0, trialDays <= 3650 else { throw InvalidPlan(description: "--included and --trial-days must be 0 or more") }
        return try plan(try connection.sql("""
            INSERT INTO plans AS p (name, currency, monthly_price, included_connections, extra_connection_price, trial_days, after_trial)
            VALUES (\(name), \(currency), \(monthlyPrice)::numeric, \(included), \(extraPrice)::numeric, \(trialDays), \(afterTrial.rawValue))
            ON CONFLICT (name) DO UPDATE SET currency = EXCLUDED.currency, monthly_price = EXCLUDED.monthly_price,
                included_connections = EXCLUDED.included_connections, extra_connection_price = EXCLUDED.extra_connection_price,
                trial_days = EXCLUDED.trial_days, after_trial = EXCLUDED.after_trial, updated_at = now()
            RETURNING \(unescaped: columns)
            """)[0])
    }

    public static func list(on connection: Connection) throws -> [Plan] {
        try connection.sql("SELECT \(unescaped: columns) FROM plans p ORDER BY p.name").rows.map { try plan($0) }
    }

    /// Puts an account on a plan (chosen: a trial's end no longer applies); false when either is unknown.
    public static func assign(accountID: String, plan: String, on connection: Connection) throws -> Bool {
        try connection.sql("""
            UPDATE accounts a SET plan = p.name, plan_chosen_at = now(), updated_at = now()
            FROM plans p WHERE p.name = \(plan) AND a.id = \(accountID) RETURNING 1
            """).first != nil
    }

    /// The account's trial ended with no plan chosen, on a plan that then stops onboarding (the
    /// API reads the same in its authentication statement).
    static func onboardingBlocked(accountID: String, on connection: Connection) throws -> Bool {
        try connection.sql("""
            SELECT \(unescaped: onboardingBlockedSQL)
            FROM accounts a JOIN plans p ON p.name = a.plan WHERE a.id = \(accountID)
            """).scalar(Bool.self) ?? false
    }

    static let planRequired = APIError(status: 402, code: "plan_required",
                                       message: "the account's trial has ended and its plan stops onboarding until a plan is chosen; ask the operator to set one")

    /// An account's plan, when its trial ends, and whether it chose a plan.
    static func of(accountID: String, on connection: Connection) throws -> (plan: Plan, trialEndsAt: Date, chosen: Bool)? {
        try connection.sql("""
            SELECT \(unescaped: columns), \(unescaped: trialEndsSQL), a.plan_chosen_at IS NOT NULL
            FROM accounts a JOIN plans p ON p.name = a.plan WHERE a.id = \(accountID)
            """).first.map { (try plan($0), try $0.decode(Date.self, at: 7), try $0.decode(Bool.self, at: 8)) }
    }
}
