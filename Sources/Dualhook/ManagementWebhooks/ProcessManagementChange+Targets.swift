import Crypto
import Foundation
import JobQueue
import Postgres

extension ProcessManagementChange {
    /// Where a change goes, first target first. A change whose value names a live connection's
    /// number (by id, by display number as quality and name updates do, or as
    /// `account_update`'s `phone_number`) goes to that connection alone. Quality updates name the
    /// number only by its display number
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/phone_number_quality_update).
    /// Any other change is about the WABA (its templates, its review, its alerts) and goes to
    /// the oldest live connection of each webhook URL among the WABA's, oldest first: with
    /// per-number routing each number of the tenant's WABA may have its own URL. (A WABA has
    /// one tenant, `waba_webhook_conflict`; the account is in the key all the same, as the
    /// secrets that sign a forward are the account's.)
    static func targets(waba: String, value: [String: Any], vault: Vault, on tx: Connection) throws -> [Target] {
        let phone = ManagementState.text(value["phone_number_id"])
        let display = ManagementState.text(value["display_phone_number"]) ?? ManagementState.text(value["phone_number"])
        if phone != nil || display != nil {
            let named = try tx.sql("""
                SELECT c.account_id, c.id, c.webhook_override_url, \(unescaped: SigningSecrets.validSQL(account: "c.account_id"))
                FROM connections c
                WHERE c.waba_id = \(waba) AND c.status IN ('active', 'suspended')
                  AND (c.phone_number_id = \(phone ?? "") OR \(ConnectionStore.sameNumber("c.display_phone_number", display)))
                ORDER BY c.phone_number_id = \(phone ?? "") DESC, c.created_at LIMIT 1
                """)
            if let row = named.first { return [try target(row, vault: vault)] }
        }
        return try tx.sql("""
            SELECT account_id, id, webhook_override_url, secrets FROM (
                SELECT DISTINCT ON (c.account_id, c.webhook_override_url)
                       c.account_id, c.id, c.webhook_override_url, c.created_at,
                       \(unescaped: SigningSecrets.validSQL(account: "c.account_id")) AS secrets
                FROM connections c WHERE c.waba_id = \(waba) AND c.status IN ('active', 'suspended')
                ORDER BY c.account_id, c.webhook_override_url, c.created_at, c.id) t
            ORDER BY created_at, id
            """).rows.map { try target($0, vault: vault) }
    }

    /// The change applied and its targets chosen, once: the first attempt applies it, picks its
    /// targets, records the first on the change and queues the others. A retry (its first
    /// forward failed) sends again to the target recorded then, whatever has happened to the
    /// WABA's connections since (the change itself may have ended them), and queues nothing.
    /// A change applied before targets were recorded has none: its first target is chosen again.
    static func applyOnce(_ changeID: String, _ change: Change, vault: Vault, on tx: Connection) throws -> Target? {
        guard let row = try tx.sql("""
            SELECT applied_at IS NOT NULL, connection_id FROM management_changes WHERE id = \(changeID) FOR UPDATE
            """).first else { return nil }
        if try row.decode(Bool.self, at: 0) {
            if let recorded = try row.decode(String?.self, at: 1) { return try target(connection: recorded, vault: vault, on: tx) }
            return try targets(waba: change.waba, value: change.value, vault: vault, on: tx).first
        }
        try ManagementState.apply(changeID: changeID, waba: change.waba, field: change.field, value: change.value, on: tx)
        let targets = try targets(waba: change.waba, value: change.value, vault: vault, on: tx)
        if let first = targets.first {
            try tx.sql("UPDATE management_changes SET account_id = \(first.accountID), connection_id = \(first.connectionID) WHERE id = \(changeID)")
        }
        try fanOut(changeID: changeID, to: targets.dropFirst(), on: tx)
        return targets.first
    }

    /// A target recorded when the change was applied, by its connection, whatever its status now.
    static func target(connection id: String, vault: Vault, on connection: Connection) throws -> Target? {
        try connection.sql("""
            SELECT c.account_id, c.id, c.webhook_override_url, \(unescaped: SigningSecrets.validSQL(account: "c.account_id"))
            FROM connections c WHERE c.id = \(id)
            """).first.map { try target($0, vault: vault) }
    }

    /// Further targets recorded and queued, each once: a retry of the applying job (its first
    /// forward failed) finds their rows and queues nothing again.
    static func fanOut(changeID: String, to targets: ArraySlice<Target>, on tx: Connection) throws {
        guard !targets.isEmpty else { return }
        let added = try tx.sql("""
            INSERT INTO management_forwards (change_id, connection_id, account_id)
            SELECT \(changeID), t.connection, t.account FROM unnest(\(targets.map(\.connectionID))::text[], \(targets.map(\.accountID))::text[]) AS t(connection, account)
            ON CONFLICT DO NOTHING
            RETURNING connection_id
            """).rows.map { try $0.decode(String.self, at: 0) }
        try JobQueue.enqueueMany(ProcessManagementChange.self, added.map { Args(changeId: changeID, connectionId: $0) }, on: tx)
    }

    private static func target(_ row: Row, vault: Vault) throws -> Target {
        let account: String = try row.decode(at: 0)
        let secrets = try SigningSecrets.openAll(try row.decode(at: 3), accountID: account, vault: vault)
        guard !secrets.isEmpty else { throw SigningSecrets.Malformed(accountID: account) }
        return Target(accountID: account, connectionID: try row.decode(at: 1), url: try row.decode(at: 2), secrets: secrets)
    }
}
