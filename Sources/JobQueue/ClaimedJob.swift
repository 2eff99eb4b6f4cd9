import Foundation
import Postgres

/// A job this worker has claimed: its row as the claim statement returned it.
struct ClaimedJob: Sendable {
    let id: Int64
    let queue: String
    let kind: String
    let args: Data
    let attempt: Int
    let maxAttempts: Int
    let timeoutSeconds: Int
    let createdAt: Date
    /// Seconds from when it was due to its claim (the claim latency).
    let waited: Double

    init(id: Int64, queue: String, kind: String, args: Data, attempt: Int, maxAttempts: Int, timeoutSeconds: Int,
         createdAt: Date, waited: Double = 0) {
        self.id = id
        self.queue = queue
        self.kind = kind
        self.args = args
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.timeoutSeconds = timeoutSeconds
        self.createdAt = createdAt
        self.waited = waited
    }

    init(row: Row) throws {
        id = try row.decode(at: 0)
        queue = try row.decode(at: 1)
        kind = try row.decode(at: 2)
        args = Data(try row.decode(String.self, at: 3).utf8)
        attempt = try row.decode(at: 4)
        maxAttempts = try row.decode(at: 5)
        timeoutSeconds = try row.decode(at: 6)
        createdAt = try row.decode(at: 7)
        waited = try row.decode(at: 8)
    }
}
