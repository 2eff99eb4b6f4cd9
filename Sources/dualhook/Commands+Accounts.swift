import Dualhook
import Foundation

extension Commands {
    static func accounts(_ args: ArraySlice<String>, _ environment: Environment) throws -> Int32 {
        if args.first == "set-plan" {
            let parsed = try Arguments(args.dropFirst(), options: [], flags: [])
            try parsed.expectPositionals(2, "ACCOUNT_ID PLAN")
            let connection = try connect(environment)
            defer { connection.close() }
            guard try PlanStore.assign(accountID: parsed.positionals[0], plan: parsed.positionals[1], on: connection) else {
                fail("no account \(parsed.positionals[0]) or no plan \(parsed.positionals[1])")
                return 1
            }
            print("account \(parsed.positionals[0]) is on plan \(parsed.positionals[1])")
            return 0
        }
        if args.first == "list" {
            let parsed = try Arguments(args.dropFirst(), options: [], flags: ["json"])
            try parsed.expectPositionals(0, "")
            let connection = try connect(environment)
            defer { connection.close() }
            let accounts = try AccountStore.list(on: connection)
            if parsed.flags.contains("json") { return printJSON(accounts) }
            let formatter = ISO8601DateFormatter()
            printTable(["account_id", "name", "display_name", "live_keys", "active_connections", "created_at"],
                       accounts.map { [$0.accountId, $0.name, $0.displayName ?? "", "\($0.liveKeys)", "\($0.activeConnections)",
                                       formatter.string(from: $0.createdAt)] })
            return 0
        }
        guard args.first == "create" else { throw UsageError("usage: dualhook accounts create --name N [...] | dualhook accounts list [--json]") }
        let parsed = try Arguments(args.dropFirst(), options: ["name", "display-name", "logo-url", "event-url", "redirect-origins"],
                                   flags: [])
        try parsed.expectPositionals(0, "")
        guard let name = parsed.options["name"], !name.isEmpty, name.count <= 100 else {
            throw UsageError("--name is required (1 to 100 characters)")
        }
        let origins = (parsed.options["redirect-origins"] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        for origin in origins {
            guard let url = URL(string: origin), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
                  url.path.isEmpty || url.path == "/" else {
                throw UsageError("--redirect-origins: \(origin) is not an origin (scheme://host[:port])")
            }
        }
        if let logo = parsed.options["logo-url"], URL(string: logo)?.host == nil { throw UsageError("--logo-url must be an absolute URL") }
        // The API's rules: a URL it would refuse in PATCH /api/v1/account fails here too, not as
        // deliveries failing later.
        if let eventURL = parsed.options["event-url"] {
            do {
                try AccountStore.checkEventURL(eventURL, allowPrivate: environment.allowPrivateTargets)
            } catch let error as APIError {
                throw UsageError("--event-url: \(error.message)")
            }
        }
        let connection = try connect(environment)
        defer { connection.close() }
        let created = try AccountStore.create(
            name: name, displayName: parsed.options["display-name"], logoURL: parsed.options["logo-url"],
            eventURL: parsed.options["event-url"], redirectOrigins: origins, vault: try environment.vault(), on: connection)
        return printCompactJSON(created)
    }

    static func keys(_ args: ArraySlice<String>, _ environment: Environment) throws -> Int32 {
        guard let sub = args.first else { throw UsageError("missing subcommand: create, revoke or list") }
        let rest = args.dropFirst()
        switch sub {
        case "create":
            let parsed = try Arguments(rest, options: ["account"], flags: [])
            try parsed.expectPositionals(0, "")
            guard let account = parsed.options["account"] else { throw UsageError("--account is required") }
            let connection = try connect(environment)
            defer { connection.close() }
            guard try AccountStore.exists(account, on: connection) else {
                fail("no account \(account)")
                return 1
            }
            let key = try AccountStore.createKey(accountID: account, on: connection)
            return printCompactJSON(["keyId": key.keyId, "apiKey": key.apiKey])
        case "revoke":
            let parsed = try Arguments(rest, options: [], flags: [])
            try parsed.expectPositionals(1, "KEY_ID")
            let connection = try connect(environment)
            defer { connection.close() }
            guard try AccountStore.revokeKey(parsed.positionals[0], on: connection) else {
                fail("no live key \(parsed.positionals[0])")
                return 1
            }
            print("key \(parsed.positionals[0]) revoked")
        case "list":
            let parsed = try Arguments(rest, options: ["account"], flags: ["json"])
            try parsed.expectPositionals(0, "")
            guard let account = parsed.options["account"] else { throw UsageError("--account is required") }
            let connection = try connect(environment)
            defer { connection.close() }
            // As `keys create` answers: an account that does not exist is not one without keys.
            guard try AccountStore.exists(account, on: connection) else {
                fail("no account \(account)")
                return 1
            }
            let keys = try AccountStore.listKeys(accountID: account, on: connection)
            if parsed.flags.contains("json") { return printJSON(keys) }
            let formatter = ISO8601DateFormatter()
            printTable(["key_id", "prefix", "created_at", "revoked_at"],
                       keys.map { [$0.keyId, $0.prefix + "…", formatter.string(from: $0.createdAt),
                                   $0.revokedAt.map(formatter.string(from:)) ?? ""] })
        default:
            throw UsageError("unknown subcommand keys \(sub)")
        }
        return 0
    }

    static func printCompactJSON<T: Encodable>(_ value: T) -> Int32 {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return 1 }
        print(String(decoding: data, as: UTF8.self))
        return 0
    }
}
