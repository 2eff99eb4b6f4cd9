import Foundation
import JobQueue

/// Job kinds for exercising a worker pool: benchmarks, the test suite, and an operator checking
/// that workers pick work up. Registered only when `DUALHOOK_DIAG_KINDS=1`.
enum DiagnosticJobs {
    static func register(in registry: inout JobRegistry) {
        registry.register(Noop())
        registry.register(Touch())
        registry.register(Fail())
        registry.register(SleepInDatabase())
    }

    /// Waits in the database (`pg_sleep`) longer than its 2 s timeout, like a handler stuck on
    /// a lock or a runaway query: its statement is cut at the deadline.
    struct SleepInDatabase: JobKind {
        struct Args: Codable, Sendable {
            var seconds: Double
        }
        static let kind = "diag.sleep_in_database"
        static let timeout: TimeInterval = 2
        static let retryPolicy = RetryPolicy.fixed([1, 1])

        func perform(_ args: Args, context: JobContext) throws {
            try context.database.withConnection { _ = try $0.sql("SELECT pg_sleep(\(args.seconds))") }
        }
    }

    /// Does nothing; measures the engine alone.
    struct Noop: JobKind {
        struct Args: Codable, Sendable {}
        static let kind = "diag.noop"
        func perform(_ args: Args, context: JobContext) throws {}
    }

    /// Appends `start <job> <attempt> <worker>` to a file, sleeps, then appends `done …`. With
    /// `honorDeadline: false` it sleeps through its deadline like a hung call would.
    struct Touch: JobKind {
        struct Args: Codable, Sendable {
            var file: String
            var sleep: Double?
            var honorDeadline: Bool?
        }
        static let kind = "diag.touch"
        static let timeout: TimeInterval = 30
        static let retryPolicy = RetryPolicy.fixed([1, 2, 3])

        func perform(_ args: Args, context: JobContext) throws {
            try append("start \(context.jobID) \(context.attempt) \(context.workerID)\n", to: args.file)
            let seconds = args.sleep ?? 0
            if seconds > 0 {
                if args.honorDeadline ?? true {
                    let until = Date().addingTimeInterval(seconds)
                    while Date() < until {
                        if context.isCancelled { throw JobError.retry(after: 0, "stopped at its deadline") }
                        Thread.sleep(forTimeInterval: min(0.01, until.timeIntervalSinceNow))
                    }
                } else {
                    Thread.sleep(forTimeInterval: seconds)
                }
            }
            try append("done \(context.jobID) \(context.attempt) \(context.workerID)\n", to: args.file)
        }

        /// One `write(2)` on an O_APPEND descriptor: lines from many processes never interleave.
        private func append(_ line: String, to path: String) throws {
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
            guard fd >= 0 else { throw JobError.discard("cannot open \(path)") }
            defer { close(fd) }
            let bytes = Array(line.utf8)
            guard write(fd, bytes, bytes.count) == bytes.count else { throw DiagnosticError("short write to \(path)") }
        }
    }

    /// Fails every attempt, permanently when asked.
    struct Fail: JobKind {
        struct Args: Codable, Sendable {
            var message: String
            var permanent: Bool?
        }
        static let kind = "diag.fail"
        static let retryPolicy = RetryPolicy.fixed([1, 2])

        func perform(_ args: Args, context: JobContext) throws {
            if args.permanent ?? false { throw JobError.discard(args.message) }
            throw DiagnosticError(args.message)
        }
    }

    struct DiagnosticError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
