import Dualhook
import Foundation

extension Commands {
    static func plans(_ args: ArraySlice<String>, _ environment: Environment) throws -> Int32 {
        guard let sub = args.first else { throw UsageError("missing subcommand: set or list") }
        let rest = args.dropFirst()
        switch sub {
        case "set":
            let parsed = try Arguments(rest, options: ["currency", "monthly-price", "included", "extra-price", "trial-days", "after-trial"], flags: [])
            try parsed.expectPositionals(1, "plan NAME")
            for required in ["currency", "monthly-price", "included", "extra-price", "trial-days"] where parsed.options[required] == nil {
                throw UsageError("--\(required) is required")
            }
            let afterTrial = parsed.options["after-trial"] ?? "continue"
            guard let after = Plan.AfterTrial(rawValue: afterTrial) else {
                throw UsageError("--after-trial must be continue or block_onboarding")
            }
            let connection = try connect(environment)
            defer { connection.close() }
            do {
                let plan = try PlanStore.set(name: parsed.positionals[0], currency: parsed.options["currency"]!,
                                             monthlyPrice: parsed.options["monthly-price"]!,
                                             included: try parsed.int("included", default: 0, range: 0...1_000_000),
                                             extraPrice: parsed.options["extra-price"]!,
                                             trialDays: try parsed.int("trial-days", default: 0, range: 0...3650), afterTrial: after, on: connection)
                return printCompactJSON(plan)
            } catch let error as PlanStore.InvalidPlan {
                throw UsageError(error.description)
            }
        case "list":
            let parsed = try Arguments(rest, options: [], flags: ["json"])
            try parsed.expectPositionals(0, "")
            let connection = try connect(environment)
            defer { connection.close() }
            let plans = try PlanStore.list(on: connection)
            if parsed.flags.contains("json") { return printJSON(plans) }
            printTable(["plan", "currency", "monthly", "included", "extra each", "trial days", "after trial"],
                       plans.map { [$0.name, $0.currency, $0.monthlyPrice, String($0.includedConnections), $0.extraConnectionPrice,
                                    String($0.trialDays), $0.afterTrial.rawValue] })
        default:
            throw UsageError("unknown subcommand plans \(sub)")
        }
        return 0
    }

    static func usage(_ args: ArraySlice<String>, _ environment: Environment) throws -> Int32 {
        guard args.first == "report" else { throw UsageError("usage: dualhook usage report --period YYYY-MM [--json|--csv]") }
        let parsed = try Arguments(args.dropFirst(), options: ["period"], flags: ["json", "csv"])
        try parsed.expectPositionals(0, "")
        guard let period = parsed.options["period"] else { throw UsageError("--period YYYY-MM is required") }
        guard !(parsed.flags.contains("csv") && parsed.flags.contains("json")) else { throw UsageError("choose one of --json and --csv") }
        let connection = try connect(environment)
        defer { connection.close() }
        do {
            if parsed.flags.contains("csv") {
                print(try UsageReport.csv(period: period, on: connection), terminator: "")
            } else if parsed.flags.contains("json") {
                print(String(decoding: try UsageReport.json(period: period, on: connection), as: UTF8.self))
            } else {
                // A table for the terminal, one line per account; --json and --csv add each connection.
                printTable(["account", "period", "plan", "connection_days", "billable", "extra", "estimated"],
                           try UsageReport.table(period: period, on: connection))
            }
        } catch let error as UsageReport.InvalidPeriod {
            throw UsageError("--period: \(error.description)")
        }
        return 0
    }
}
