import Crypto
import Foundation
import HTTPClient
import JobQueue
import Postgres

/// Applies a management change to Dualhook's state (once), then forwards it to the WABA's
/// webhook URL exactly as Meta sent it (the bytes of its `value`, Meta's `time`), with
/// `X-Dualhook-Event`, `-WABA`, `-Connection`, `-Trace` and `-Signature` (signed like events,
/// with the account's secrets), and `X-Hub-Signature-256` keyed with the account's current
/// signing secret, so a receiver built for Meta's webhooks verifies it as it verifies Meta's.
/// 15 s timeout; retried on the events' schedule; `pending`, `delivered` or `failed` on the change.
public struct ProcessManagementChange: JobKind {
    public struct Args: Codable, Sendable {
        let changeId: String
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

    public func perform(_ args: Args, context: JobContext) throws {
        guard let change = try context.database.withConnection({ connection in
            try connection.sql("""
                SELECT waba_id, field, value::text, forward_status, received_at, value_raw, entry_time
                FROM management_changes WHERE id = \(args.changeId)
                """).first
        }) else { return }
        let waba: String = try change.decode(at: 0)
        let field: String = try change.decode(at: 1)
        let valueJSON: String = try change.decode(at: 2)
        guard try change.decode(String.self, at: 3) == "pending" else { return }
        let value = (try? JSONSerialization.jsonObject(with: Data(valueJSON.utf8), options: [.fragmentsAllowed])) as? [String: Any] ?? [:]

        let target = try context.database.transaction { tx -> Target? in
            try ManagementState.apply(changeID: args.changeId, waba: waba, field: field, value: value, on: tx)
            return try ProcessManagementChange.target(waba: waba, value: value, vault: vault, on: tx)
        }
        guard let target else {
            try context.database.withConnection {
                try $0.sql("UPDATE management_changes SET forward_status = 'no_connection' WHERE id = \(args.changeId)")
            }
            return
        }

        // Meta's own bytes and time; changes recorded before they were kept fall back to the
        // parsed value and the time of receipt.
        let raw = try change.decode(String?.self, at: 5) ?? valueJSON
        let time = try change.decode(Int?.self, at: 6) ?? Int(try change.decode(Date.self, at: 4).timeIntervalSince1970)
        let body = Data(#"{"object":"whatsapp_business_account","entry":[{"id":\#(DeliveryStore.quote(waba)),"time":\#(time),"changes":[{"field":\#(DeliveryStore.quote(field)),"value":\#(raw)}]}]}"#.utf8)
        let timestamp = Int(Date().timeIntervalSince1970)
        let headers = [
            ("Content-Type", "application/json"), ("X-Dualhook-Event", field), ("X-Dualhook-WABA", waba),
            ("X-Dualhook-Connection", target.connectionID), ("X-Dualhook-Trace", args.changeId),
            ("X-Dualhook-Signature", EventSignature.dualhook(secrets: target.secrets, timestamp: timestamp, body: body)),
            ("X-Hub-Signature-256", "sha256=" + Digest.hmacSHA256(key: Data(target.secrets[0].utf8), message: body).hexString),
        ]
        var error: String?
        do {
            let response = try client.send(.init(method: "POST", url: target.url, headers: headers, body: body),
                                           deadline: min(context.deadline, Date().addingTimeInterval(DeliverEvent.requestTimeout)))
            if !(200..<300).contains(response.status) { error = "HTTP \(response.status)" }
        } catch let failure {
            error = "\(failure)"
        }
        let status = error == nil ? "delivered" : context.isLastAttempt ? "failed" : "pending"
        Counters.shared.add("dualhook_management_forwards_total", [("outcome", status == "pending" ? "retry" : status)])
        try context.database.withConnection {
            try $0.sql("""
                UPDATE management_changes SET forward_status = \(status), forward_attempts = forward_attempts + 1, last_error = \(error),
                    forwarded_at = CASE WHEN \(status) = 'delivered' THEN now() END, account_id = \(target.accountID), connection_id = \(target.connectionID)
                WHERE id = \(args.changeId)
                """)
        }
        if let error {
            if context.isLastAttempt { throw JobError.discard("forward failed: \(error)") }
            throw JobError.retry(after: ProcessManagementChange.retryPolicy.delay(afterAttempt: context.attempt), "forward failed: \(error)")
        }
    }

    /// The connection the change is about, when the value names its number (by id, by display
    /// number as quality and name updates do, or as `account_update`'s `phone_number`), else the
    /// WABA's oldest live connection. Its URL is where the change goes: with per-number routing
    /// each number has its own. Quality updates name the number only by its display number
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/phone_number_quality_update).
    static func target(waba: String, value: [String: Any], vault: Vault, on tx: Connection) throws -> Target? {
        let phone = ManagementState.text(value["phone_number_id"])
        let display = ManagementState.text(value["display_phone_number"]) ?? ManagementState.text(value["phone_number"])
        guard let row = try tx.sql("""
            SELECT c.account_id, c.id, c.webhook_override_url, \(unescaped: SigningSecrets.validSQL(account: "c.account_id"))
            FROM connections c WHERE c.waba_id = \(waba) AND c.status IN ('active', 'suspended')
            ORDER BY c.phone_number_id = \(phone ?? "") DESC, \(ConnectionStore.sameNumber("c.display_phone_number", display)) DESC,
                     c.created_at LIMIT 1
            """).first else { return nil }
        let account: String = try row.decode(at: 0)
        let secrets = try SigningSecrets.openAll(try row.decode(at: 3), accountID: account, vault: vault)
        guard !secrets.isEmpty else { throw SigningSecrets.Malformed(accountID: account) }
        return Target(accountID: account, connectionID: try row.decode(at: 1), url: try row.decode(at: 2), secrets: secrets)
    }
}
