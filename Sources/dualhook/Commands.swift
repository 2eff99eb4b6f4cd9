import Foundation
import JobQueue
import Logging
import Postgres

/// `dualhook <command>`: one entry per command, each with its own help.
struct Command: Sendable {
    let name: String
    let summary: String
    let usage: String
    let run: @Sendable (ArraySlice<String>, Environment) throws -> Int32
}

enum Commands {
    static let version = "0.1.0"

    static let all: [Command] = [
        Command(name: "migrate", summary: "apply sql/ migrations (idempotent, safe to run concurrently)",
                usage: "dualhook migrate\n  migrations are read from DUALHOOK_SQL_DIR, else ./sql, else a sql/ above the executable, else /usr/share/dualhook/sql",
                run: migrate),
        Command(name: "serve", summary: "the HTTP front (DUALHOOK_LISTEN, DUALHOOK_PUBLIC_URL)",
                usage: "dualhook serve [--threads N] [--listen host:port] [--idle-timeout SECONDS]\n  --threads   threads that run handlers, each with its own database connection (default: eight per core, at most 64)\n  --listen    overrides DUALHOOK_LISTEN (default 127.0.0.1:8080)\n  --idle-timeout  close connections idle or sending nothing for this long (default 30)",
                run: serve),
        Command(name: "accounts", summary: "create and list accounts",
                usage: "dualhook accounts create --name N [--display-name D] [--logo-url U] [--event-url U] [--redirect-origins o1,o2]\n  prints {\"accountId\",\"apiKey\",\"eventSigningSecret\"}: the key and secret are shown this once\ndualhook accounts list [--json]\ndualhook accounts set-plan ACCOUNT_ID PLAN",
                run: accounts),
        Command(name: "users", summary: "people who sign in to the dashboard and the operator console",
                usage: """
                dualhook users create --email E (--account ID [--role owner|admin|viewer] | --operator)
                  --role defaults to viewer (reads only); give owner for someone who manages the account
                  prints {"userId","email","signInUrl"}: a one-time link (24 h) where the user sets a password
                dualhook users link --email E     a fresh one-time link (a forgotten password)
                dualhook users list [--json]
                dualhook users disable USER_ID    the user can no longer sign in; their sessions end
                """, run: users),
        Command(name: "plans", summary: "plans: price, included connections, trial",
                usage: """
                dualhook plans set NAME --currency EUR --monthly-price 99 --included 25 --extra-price 4 --trial-days 30
                                   [--after-trial continue|block_onboarding]
                  creates or changes a plan (the `platform` plan exists after migrate); prices have at most two decimals
                dualhook plans list [--json]
                """, run: plans),
        Command(name: "usage", summary: "connection-day usage of every account for a month",
                usage: "dualhook usage report --period YYYY-MM [--json|--csv]", run: usage),
        Command(name: "keys", summary: "create, revoke and list API keys",
                usage: "dualhook keys create --account ID\ndualhook keys revoke KEY_ID\ndualhook keys list --account ID [--json]",
                run: keys),
        Command(name: "fake-meta", summary: "Graph API + Embedded Signup simulator for development and tests",
                usage: "dualhook fake-meta [--listen host:port] [--app-callback URL]\n  --listen        default 127.0.0.1:9090\n  --app-callback  the app's webhook callback (Dualhook's /meta/webhook), where Meta sends what no override captures", run: fakeMeta),
        Command(name: "work", summary: "run jobs: claim, run, retry",
                usage: """
                dualhook work [--queues q1[:N],q2[:N]] [--concurrency N] [--grace SECONDS] [--reap-interval SECONDS]
                              [--lease-margin SECONDS] [--poll-interval SECONDS] [--max-stuck N]
                  --queues         queues to serve, each with an optional slot count (default: every queue this binary knows)
                  --concurrency    slots per queue without an explicit count (default 10)
                  --grace          how long running jobs may finish after SIGTERM (default 25)
                  --reap-interval  how often to look for jobs of dead workers (default 5)
                  --lease-margin   seconds past a job's timeout before other workers may take it back (default 5)
                  --poll-interval  claim this often even without a notification (default 1)
                  --max-stuck      per queue, threads still running handlers past their deadlines before their slots
                                   are left empty instead of replaced (default: 4, or the queue's slots if more)
                """, run: work),
        Command(name: "openapi", summary: "print the OpenAPI document of the HTTP API (what GET /api/v1/openapi.json serves)",
                usage: "dualhook openapi", run: openapi),
        Command(name: "schedule", summary: "enqueue periodic sweeps forever",
                usage: "dualhook schedule", run: schedule),
        Command(name: "sweep", summary: "enqueue one sweep now",
                usage: "dualhook sweep NAME", run: sweep),
        Command(name: "jobs", summary: "inspect and steer jobs",
                usage: """
                dualhook jobs stats [--json]
                dualhook jobs list [--state S] [--kind K] [--queue Q] [--limit N] [--json]
                  --state  available (due now), scheduled (later), running, completed, discarded or cancelled
                dualhook jobs show ID [--json]    its arguments (secrets hidden), attempts and errors
                dualhook jobs retry ID      not a completed event delivery: POST /api/v1/events/{id}/redeliver sends it again
                dualhook jobs cancel ID     a waiting (available or scheduled) or running job
                dualhook jobs pause QUEUE     workers finish running jobs and claim nothing more from it
                dualhook jobs resume QUEUE
                dualhook jobs enqueue KIND [--args JSON] [--queue Q] [--count N] [--unique-key K] [--timeout SECONDS] [--delay SECONDS]
                                      [--spacing SECONDS]   one job per transaction, that far apart
                """, run: jobs),
    ]

    static func main(_ arguments: [String]) -> Int32 {
        let args = arguments.dropFirst()
        guard let name = args.first else {
            printHelp()
            return 2
        }
        switch name {
        case "--help", "-h", "help":
            printHelp()
            return 0
        case "--version", "version":
            print("dualhook \(version)")
            return 0
        default:
            break
        }
        guard let command = all.first(where: { $0.name == name }) else {
            fail("unknown command \(name) (see dualhook --help)")
            return 2
        }
        let rest = args.dropFirst()
        if rest.contains("--help") || rest.contains("-h") {
            print("\(command.summary)\n\nusage: \(command.usage)")
            if command.name == "sweep" || command.name == "schedule", let sweeps = try? Catalog.sweeps(Environment()) {
                print("\nsweeps:")
                for sweep in sweeps {
                    print("  \(sweep.name.padding(toLength: 24, withPad: " ", startingAt: 0)) every \(Int(sweep.interval)) s")
                }
            }
            return 0
        }
        do {
            return try command.run(rest, Environment())
        } catch let error as UsageError {
            fail("\(error)")
            return 2
        } catch {
            fail("\(error)")
            return 1
        }
    }

    static func printHelp() {
        print("dualhook \(version) — WhatsApp Business onboarding platform\n\nusage: dualhook <command> [options]\n")
        for command in all { print("  \(command.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(command.summary)") }
        print("\nRun `dualhook <command> --help` for a command's options.")
    }

    static func fail(_ message: String) {
        FileHandle.standardError.write(Data("dualhook: \(message)\n".utf8))
    }

    static func connect(_ environment: Environment) throws -> Connection {
        do {
            return try Connection.connect(environment.databaseURL, applicationName: "dualhook-cli")
        } catch let error as PostgresError where environment.setting("DATABASE_URL") == nil {
            // Say which database was meant: without DATABASE_URL it is this checkout's own cluster.
            throw PostgresError(error.kind, "DATABASE_URL is not set, so this checkout's cluster (\(environment.databaseURL), started by ops/pg) was tried: \(error.message)")
        }
    }
}
