import Foundation
import Logging
import Postgres

extension Commands {
    static func migrate(_ args: ArraySlice<String>, _ environment: Environment) throws -> Int32 {
        let parsed = try Arguments(args, options: [], flags: [])
        try parsed.expectPositionals(0, "")
        guard let directory = environment.migrationsDirectory() else {
            throw UsageError("no migrations found: set DUALHOOK_SQL_DIR to the sql/ directory, or run from the project directory")
        }
        let logger = Logger(label: "migrate")
        let migrator = try Migrator(directory: directory)
        let connection = try connect(environment)
        defer { connection.close() }
        let applied = try migrator.migrate(connection)
        if applied.isEmpty {
            logger.info("schema up to date", ["migrations": migrator.migrations.count])
        } else {
            for name in applied { logger.info("applied migration", ["file": name]) }
        }
        return 0
    }
}
