import Foundation

/// A Postgres cluster of one test's own, started with `ops/pg` in a scratch directory on a
/// port of its own: for tests that stop the database, which the shared cluster must never do.
/// Durable settings (fsync on): it is killed like a crashed server and must recover.
public final class PrivateCluster: Sendable {
    public let directory: URL
    public let port: Int
    public let url: String

    public init() throws {
        directory = try TestEnvironment.scratchDirectory("cluster")
        port = Int.random(in: 56_000...56_999)
        url = "postgres://postgres@127.0.0.1:\(port)/dualhook"
        try run("start")
    }

    public func start() throws { try run("start") }
    /// An immediate shutdown: sessions are cut as by a crash.
    public func kill() throws { try run("kill") }
    public func stop() { try? run("stop") }

    private func run(_ command: String) throws {
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
