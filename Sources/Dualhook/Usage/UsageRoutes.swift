import Foundation
import HTTPServer
import Postgres

/// `GET /api/v1/usage?period=YYYY-MM`: the account's connection-day ledger and what it will pay.
enum UsageRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        router.add("GET", "/api/v1/usage", RouteEntry(.api, query: ["period"], usage))
    }

    /// The period asked for: `YYYY-MM`, not after the current month (default: the current one).
    static func period(_ text: String?) throws -> BillingPeriod {
        let current = BillingPeriod(containing: Date())
        guard let text else { return current }
        guard let period = BillingPeriod(text) else {
            throw APIError.validationFailed(param: "period", "period must be a month as YYYY-MM from 2000-01 on, e.g. \(current.text)")
        }
        guard period.start <= current.start else {
            throw APIError.validationFailed(param: "period", "period \(period.text) has not begun; the latest is \(current.text)")
        }
        return period
    }

    static func usage(_ context: APIContext) throws -> Response {
        let period = try period(context.request.query["period"])
        let account = context.account.accountID
        guard let (plan, trialEndsAt, _) = try PlanStore.of(accountID: account, on: context.connection) else { throw APIError.notFound("account") }
        return .json(200, try UsageLedger.statement(accountID: account, plan: plan, trialEndsAt: trialEndsAt, period: period, on: context.connection))
    }
}

/// `dualhook usage report`: every account's usage for a closed or current month.
public enum UsageReport {
    public struct InvalidPeriod: Error, CustomStringConvertible {
        public let description: String
    }

    /// One row per account: what the table of `usage report` shows.
    public static func table(period text: String, on connection: Connection) throws -> [[String]] {
        try rows(period: text, on: connection).map {
            [$0.accountId, $0.period, $0.plan.name, String($0.connectionDays), $0.billableConnections, $0.extraConnections,
             "\($0.estimatedAmount) \($0.plan.currency)"]
        }
    }

    public static func json(period text: String, on connection: Connection) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Response.timestamp(date))
        }
        return try encoder.encode(try rows(period: text, on: connection))
    }

    /// One line per account and connection (accounts without any: one line with empty connection).
    public static func csv(period text: String, on connection: Connection) throws -> String {
        var out = "account_id,period,plan,currency,connection_days,billable_connections,extra_connections,estimated_amount,connection_id,tenant_id,active_days\n"
        func field(_ value: String) -> String {
            value.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
        }
        /// Text the account chose (a tenant id, a plan's name) that a spreadsheet would run as a
        /// formula starts with `'` (OWASP's CSV injection advice); a number such as `+15550100`
        /// stays as it is.
        func chosen(_ value: String) -> String {
            guard let first = value.first, "=+-@\t\r".contains(first),
                  value.contains(where: { !("0"..."9").contains($0) && !" .+-".contains($0) }) else { return field(value) }
            return field("'" + value)
        }
        for usage in try rows(period: text, on: connection) {
            let numbers: [String] = [usage.plan.currency, String(usage.connectionDays), usage.billableConnections, usage.extraConnections,
                                     usage.estimatedAmount].map { field($0) }
            let head: [String] = [field(usage.accountId), field(usage.period), chosen(usage.plan.name)] + numbers
            let headLine = head.joined(separator: ",")
            if usage.connections.isEmpty { out += headLine + ",,,0\n" }
            for line in usage.connections {
                out += headLine + "," + [field(line.connectionId), chosen(line.tenantId), field(String(line.activeDays))].joined(separator: ",") + "\n"
            }
        }
        return out
    }

    static func rows(period text: String, on connection: Connection) throws -> [UsageLedger.Usage] {
        let period: BillingPeriod
        do { period = try UsageRoutes.period(text) } catch let error as APIError { throw InvalidPeriod(description: error.message) }
        return try UsageLedger.report(period: period, on: connection)
    }
}
