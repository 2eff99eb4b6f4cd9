import Dualhook
import Foundation

extension Commands {
    static func users(_ args: ArraySlice<String>, _ environment: Environment) throws -> Int32 {
        guard let sub = args.first else { throw UsageError("missing subcommand: create, link, list or disable") }
        let rest = args.dropFirst()
        switch sub {
        case "create":
            let parsed = try Arguments(rest, options: ["email", "account", "role"], flags: ["operator"])
            try parsed.expectPositionals(0, "")
            guard let email = parsed.options["email"], !email.isEmpty else { throw UsageError("--email is required") }
            let isOperator = parsed.flags.contains("operator")
            let account = parsed.options["account"]
            guard isOperator != (account != nil) else { throw UsageError("give either --account ID (with --role) or --operator") }
            let role = parsed.options["role"] ?? "viewer"
            guard ["owner", "admin", "viewer"].contains(role), !isOperator || parsed.options["role"] == nil else {
                throw UsageError("--role must be owner, admin or viewer, and goes with --account")
            }
            let connection = try connect(environment)
            defer { connection.close() }
            do {
                let created = try UserStore.create(email: email, accountID: account, role: isOperator ? nil : role,
                                                   publicURL: environment.publicURL, on: connection)
                return printCompactJSON(created)
            } catch UserStore.CreateError.invalidEmail(let email) {
                // A bad argument, as API.md says of the CLI: exit 2.
                throw UsageError("--email \(email) is not an email address")
            } catch let error as UserStore.CreateError {
                fail("\(error)")
                return 1
            }
        case "link":
            let parsed = try Arguments(rest, options: ["email"], flags: [])
            try parsed.expectPositionals(0, "")
            guard let email = parsed.options["email"] else { throw UsageError("--email is required") }
            let connection = try connect(environment)
            defer { connection.close() }
            guard let link = try UserStore.newSignInLink(email: email, publicURL: environment.publicURL, on: connection) else {
                fail("no enabled user with email \(email)")
                return 1
            }
            return printCompactJSON(link)
        case "list":
            let parsed = try Arguments(rest, options: [], flags: ["json"])
            try parsed.expectPositionals(0, "")
            let connection = try connect(environment)
            defer { connection.close() }
            let users = try UserStore.list(on: connection)
            if parsed.flags.contains("json") { return printJSON(users) }
            let formatter = ISO8601DateFormatter()
            printTable(["user_id", "email", "account", "role", "totp", "password", "disabled"],
                       users.map { [$0.userId, $0.email, $0.accountId ?? "(operator)", $0.role ?? "", $0.totpEnabled ? "on" : "off",
                                    $0.passwordSet ? "set" : "not yet", $0.disabledAt.map(formatter.string(from:)) ?? ""] })
        case "disable":
            let parsed = try Arguments(rest, options: [], flags: [])
            try parsed.expectPositionals(1, "USER_ID")
            let connection = try connect(environment)
            defer { connection.close() }
            guard try UserStore.disable(parsed.positionals[0], on: connection) else {
                fail("no enabled user \(parsed.positionals[0])")
                return 1
            }
            print("user \(parsed.positionals[0]) disabled; their sessions ended")
        default:
            throw UsageError("unknown subcommand users \(sub)")
        }
        return 0
    }
}
