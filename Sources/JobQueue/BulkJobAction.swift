import Foundation
import Postgres

/// An operator's retry or cancel of every job that matches a filter, run as a job: in batches
/// of ids (a cursor, so a retried job that still matches is not taken twice), each batch its
/// own statement, so a million matches never hold one long transaction.
public struct BulkJobAction: JobKind {
    public struct Args: Codable, Sendable {
        public let action: String
        public let queue: String?
        public let kind: String?
        public let state: String?
        public let argName: String?
        public let argValue: String?
        /// Jobs created after the operator saw the count are left alone.
        public let maxID: Int64

        public init(action: String, filter: JobAdmin.Filter, maxID: Int64) {
            self.action = action
            queue = filter.queue
            kind = filter.kind
            state = filter.state
            argName = filter.argument?.name
            argValue = filter.argument?.value
            self.maxID = maxID
        }

        /// The operator's filter, bounded by the newest job they saw counted.
        var filter: JobAdmin.Filter {
            var filter = JobAdmin.Filter(queue: queue, kind: kind, state: state,
                                         argument: argName.flatMap { name in argValue.map { (name, $0) } })
            filter.maxID = maxID
            return filter
        }
    }
    public static let kind = "jobs.bulk_action"
    public static let queue = "maintenance"
    public static let timeout: TimeInterval = 600
    public static let retryPolicy = RetryPolicy.fixed([30, 120])

    let batchSize: Int

    public init(batchSize: Int = 5000) { self.batchSize = batchSize }

    public func perform(_ args: Args, context: JobContext) throws {
        guard args.action == "retry" || args.action == "cancel" else { throw JobError.discard("unknown bulk action \(args.action)") }
        var after: Int64 = 0
        var changed = 0
        while !context.isCancelled {
            let ids = try context.database.withConnection { connection in
                try connection.sql("""
                    SELECT id FROM jobs WHERE \(args.filter.sql) AND id > \(after) AND id <> \(context.jobID)
                    ORDER BY id LIMIT \(batchSize)
                    """).rows.map { try $0.decode(Int64.self, at: 0) }
            }
            guard let last = ids.last else { break }
            after = last
            changed += try context.database.withConnection { connection in
                // The filter again, not only the ids: a job that changed since the look is left alone.
                var batch = args.filter
                batch.ids = ids
                return args.action == "retry" ? try JobAdmin.retryMatching(batch, on: connection)
                                              : try JobAdmin.cancelMatching(batch, on: connection)
            }
        }
        context.logger.info("bulk job action done", ["action": args.action, "changed": changed])
    }
}
