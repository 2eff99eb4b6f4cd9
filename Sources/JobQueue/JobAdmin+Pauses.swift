import Foundation
import Postgres

extension JobAdmin {
    /// Stops workers claiming from `queue` (running jobs finish); false when it was paused already.
    @discardableResult
    public static func pause(queue: String, by who: String, on connection: Connection) throws -> Bool {
        try connection.sql("""
            INSERT INTO job_queue_pauses (queue, paused_by) VALUES (\(queue), \(who)) ON CONFLICT (queue) DO NOTHING RETURNING 1
            """).first != nil
    }

    /// Lets workers claim from `queue` again and wakes them; false when it was not paused.
    @discardableResult
    public static func resume(queue: String, on connection: Connection) throws -> Bool {
        let resumed = try connection.sql("DELETE FROM job_queue_pauses WHERE queue = \(queue) RETURNING 1").first != nil
        if resumed { WakeUps.shared.wake(queue, after: connection) }
        return resumed
    }

    /// Paused queues and since when.
    public static func pausedQueues(on connection: Connection) throws -> [String: Date] {
        var paused: [String: Date] = [:]
        for row in try connection.sql("SELECT queue, paused_at FROM job_queue_pauses").rows {
            paused[try row.decode(at: 0)] = try row.decode(Date.self, at: 1)
        }
        return paused
    }
}
