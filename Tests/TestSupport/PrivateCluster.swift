import Foundation

/// A Postgres cluster of one test's own, started with `ops/pg` in a scratch directory on a
/// port of its own: for tests that stop the database, which the shared cluster must never do.
/// Durable settings (fsync on): it is killed like a crashed server and must recover.
public final class PrivateCluster: Sendable {
    public let directory: URL
    public let port: Int
    public let url: String

    /// Ports above the kernel's ephemeral range (32768–60999), tried again elsewhere when taken.
    public init() throws {
        directory = try TestEnvironment.scratchDirectory("cluster")
        var lastError: Error?
        for _ in 0..<5 {
            let candidate = Int.random(in: 61_000...64_999)
            do {
                try PrivateCluster.run("start", directory: directory, port: candidate)
                port = candidate
                url = "postgres://postgres@127.0.0.1:\(candidate)/dualhook"
                return
            } catch {
                lastError = error
            }
        }
        throw lastError!
    }

    public func start() throws { try run("start") }
    /// An immediate shutdown: sessions are cut as by a crash.
    public func kill() throws { try run("kill") }
    public func stop() { try? run("stop") }

    private func run(_ command: String) throws {
        try PrivateCluster.run(command, directory: directory, port: port)
    }

    private static func run(_ command: String, directory: URL, port: Int) throws {
        var environment = ProcessInfo.processInfo.environment
        environment["DUALHOOK_PG_DIR"] = directory.path
        environment["DUALHOOK_PG_PORT"] = String(port)
        let script = TestEnvironment.repositoryRoot.appendingPathComponent("ops/pg").path
        let status = try spawnAndWait([script, command], environment: environment)
        guard status == 0 else { throw ClusterError(message: "ops/pg \(command) exited \(status)") }
    }

    struct ClusterError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
