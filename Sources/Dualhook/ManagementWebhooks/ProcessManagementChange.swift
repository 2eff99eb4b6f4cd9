import Crypto
import Foundation
import HTTPClient
import JobQueue
import Postgres

/// Applies a management change to Dualhook's state (once), then forwards it to the webhook URL
/// of each connection it concerns, exactly as Meta sent it (the bytes of its `value`, Meta's
/// `time`), with `X-Dualhook-Event`, `-WABA`, `-Connection`, `-Trace` and `-Signature` (signed
/// like events, with the account's secrets), and `X-Hub-Signature-256` keyed with the account's
/// current signing secret, so a receiver built for Meta's webhooks verifies it as it verifies
/// Meta's. 15 s timeout; retried on the events' schedule; `pending`, `delivered` or `failed`
/// per forward.
///
/// A change that names a connected number goes to that number's connection. Any other change
/// is about the whole WABA and goes to each distinct URL among its live connections (one per
/// account and URL, `targets`): the first on `management_changes` by this job, each further
/// one on a `management_forwards` row by a job of its own (`connectionId` set), so one URL
/// that fails never holds back or repeats another's.
public struct ProcessManagementChange: JobKind {
    public struct Args: Codable, Sendable {
        let changeId: String
        /// A further target of a WABA-wide change; nil for the job that applies the change.
        var connectionId: String?
    }
    public static let kind = "management.process"
    public static let queue = "events"
    public static let timeout: TimeInterval = 20
    public static let retryPolicy = DeliverEvent.retryPolicy

    let vault: Vault
    let client: HTTPClient

    public init(vault: Vault, allowPrivateTargets: Bool) {
        self.vault = vault
        self.client = HTTPClient(allowPrivateTargets: allowPrivateTargets, maxResponseBytes: 4096, userAgent: "Dualhook-Webhooks/1.0")
    }

    struct Target {
        let accountID: String
        let connectionID: String
        let url: String
        let secrets: [String]
    }

    /// A recorded change as its forwards need it.
    struct Change {
        let waba: String
        let field: String
        let value: [String: Any]
        /// The whole body forwarded, with Meta's bytes for the value and Meta's time.
        let body: Data
    }

    public func perform(_ args: Args, context: JobContext) throws {
        guard let (change, status) = try ProcessManagementChange.change(args.changeId, database: context.database) else { return }
        if let connection = args.connectionId {
            try forwardFurther(change, record: .further(change: args.changeId, connection: connection), context: context)
            return
        }
        guard status == "pending" else { return }
        let record = ForwardRecord.first(change: args.changeId)
        let target = try giveUpUnsignable(record, context: context) {
            try context.database.transaction { try ProcessManagementChange.applyOnce(args.changeId, change, vault: vault, on: $0) }
        }
        guard let target else { return try context.database.withConnection { try record.noConnection(on: $0) } }
        try deliver(change, to: target, record: record, context: context)
    }

    /// One further target's forward, on its `management_forwards` row. The connection was a
    /// live one of the WABA when the change was applied; it is sent the change even if that
    /// change has since ended it (a ban), as the first target is.
    private func forwardFurther(_ change: Change, record: ForwardRecord, context: JobContext) throws {
        guard case .further(let changeID, let connectionID) = record else { return }
        let target = try giveUpUnsignable(record, context: context) {
            try context.database.withConnection { connection -> Target? in
                guard try connection.sql("""
                    SELECT 1 FROM management_forwards WHERE change_id = \(changeID) AND connection_id = \(connectionID) AND status = 'pending'
                    """).first != nil else { return nil }
                return try ProcessManagementChange.target(connection: connectionID, vault: vault, on: connection)
            }
        }
        guard let target else { return try context.database.withConnection { try record.noConnection(on: $0) } }
        try deliver(change, to: target, record: record, context: context)
    }

    /// Finding a target that cannot be signed for (no valid secret) is retried, and at the
    /// last attempt the forward fails for good.
    private func giveUpUnsignable(_ record: ForwardRecord, context: JobContext, _ find: () throws -> Target?) throws -> Target? {
        do {
            return try find()
        } catch where context.isLastAttempt && !(error is PostgresError) {
            try context.database.withConnection { try record.write(outcome: "failed", error: "\(error)", on: $0) }
            throw JobError.discard("forward failed: \(error)")
        }
    }

    /// Sends, records the outcome where the forward's status is kept, and retries a failure on
    /// the events' schedule (or gives up at the last attempt).
    private func deliver(_ change: Change, to target: Target, record: ForwardRecord, context: JobContext) throws {
        let error = forward(change, changeID: record.changeID, to: target, context: context)
        let outcome = error == nil ? "delivered" : context.isLastAttempt ? "failed" : "pending"
        try context.database.withConnection { try record.write(outcome: outcome, error: error, on: $0) }
        guard let error else { return }
        if context.isLastAttempt { throw JobError.discard("forward failed: \(error)") }
        throw JobError.retry(after: ProcessManagementChange.retryPolicy.delay(afterAttempt: context.attempt), "forward failed: \(error)")
    }

    /// Where a forward's status is kept: the change's first forward on `management_changes`,
    /// each further one on its `management_forwards` row.
    enum ForwardRecord {
        case first(change: String)
        case further(change: String, connection: String)

        var changeID: String {
            switch self {
            case .first(let change), .further(let change, _): change
            }
        }

        func write(outcome: String, error: String?, on connection: Connection) throws {
            switch self {
            case .first(let change):
                try connection.sql("""
                    UPDATE management_changes SET forward_status = \(outcome), forward_attempts = forward_attempts + 1, last_error = \(error),
                        forwarded_at = CASE WHEN \(outcome) = 'delivered' THEN now() END
                    WHERE id = \(change)
                    """)
            case .further(let change, let target):
                try connection.sql("""
                    UPDATE management_forwards SET status = \(outcome), attempts = attempts + 1, last_error = \(error),
                        forwarded_at = CASE WHEN \(outcome) = 'delivered' THEN now() END
                    WHERE change_id = \(change) AND connection_id = \(target)
                    """)
            }
        }

        /// No connection to send to: none was live (the first), or its row is gone (a further one).
        func noConnection(on connection: Connection) throws {
            switch self {
            case .first(let change):
                try connection.sql("UPDATE management_changes SET forward_status = 'no_connection' WHERE id = \(change)")
            case .further(let change, let target):
                try connection.sql("""
                    UPDATE management_forwards SET status = 'no_connection'
                    WHERE change_id = \(change) AND connection_id = \(target) AND status = 'pending'
                      AND NOT EXISTS (SELECT 1 FROM connections c WHERE c.id = \(target))
                    """)
            }
        }
    }

    /// Sends the change to one target; the error, or nil when it was delivered.
    private func forward(_ change: Change, changeID: String, to target: Target, context: JobContext) -> String? {
        let timestamp = Int(Date().timeIntervalSince1970)
        let headers = [
            ("Content-Type", "application/json"), ("X-Dualhook-Event", change.field), ("X-Dualhook-WABA", change.waba),
            ("X-Dualhook-Connection", target.connectionID), ("X-Dualhook-Trace", changeID),
            ("X-Dualhook-Signature", EventSignature.dualhook(secrets: target.secrets, timestamp: timestamp, body: change.body)),
            ("X-Hub-Signature-256", "sha256=" + Digest.hmacSHA256(key: Data(target.secrets[0].utf8), message: change.body).hexString),
        ]
        var error: String?
        do {
            let response = try client.send(.init(method: "POST", url: target.url, headers: headers, body: change.body),
                                           deadline: min(context.deadline, Date().addingTimeInterval(DeliverEvent.requestTimeout)))
            if !(200..<300).contains(response.status) { error = "HTTP \(response.status)" }
        } catch let failure {
            error = "\(failure)"
        }
        let outcome = error == nil ? "delivered" : context.isLastAttempt ? "failed" : "pending"
        Counters.shared.add("dualhook_management_forwards_total", [("outcome", outcome == "pending" ? "retry" : outcome)])
        return error
    }

    /// The change and its first forward's status; nil when it is gone.
    static func change(_ id: String, database: JobDatabase) throws -> (Change, String)? {
        guard let row = try database.withConnection({ connection in
            try connection.sql("""
                SELECT waba_id, field, value::text, forward_status, received_at, value_raw, entry_time
                FROM management_changes WHERE id = \(id)
                """).first
        }) else { return nil }
        let waba: String = try row.decode(at: 0)
        let field: String = try row.decode(at: 1)
        let valueJSON: String = try row.decode(at: 2)
        let value = (try? JSONSerialization.jsonObject(with: Data(valueJSON.utf8), options: [.fragmentsAllowed])) as? [String: Any] ?? [:]
        // Meta's own bytes and time; changes recorded before they were kept fall back to the
        // parsed value and the time of receipt.
        let raw = try row.decode(String?.self, at: 5) ?? valueJSON
        let time = try row.decode(Int?.self, at: 6) ?? Int(try row.decode(Date.self, at: 4).timeIntervalSince1970)
        let body = Data(#"{"object":"whatsapp_business_account","entry":[{"id":\#(DeliveryStore.quote(waba)),"time":\#(time),"changes":[{"field":\#(DeliveryStore.quote(field)),"value":\#(raw)}]}]}"#.utf8)
        return (Change(waba: waba, field: field, value: value, body: body), try row.decode(at: 3))
    }
}
