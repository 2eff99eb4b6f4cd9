import Foundation
import JobQueue
import Postgres

/// The one writer of `connections`: every change of a connection row is a method here, run in
/// the caller's transaction, and each state change emits its event in that same transaction.
/// The state machine is `ConnectionStatus`; a test fails when SQL elsewhere writes the table.
enum ConnectionStore {
    /// Ends a live connection with `connection.disconnected`. False when it was not live.
    @discardableResult
    static func disconnect(_ id: String, reason: DisconnectReason, on tx: Connection) throws -> Bool {
        guard let row = try tx.sql("""
            UPDATE connections c SET status = 'disconnected', disconnect_reason = \(reason.rawValue), disconnected_at = now(), updated_at = now(),
                access_token = NULL, webhook_verify_token = NULL, registration_pin = NULL
            WHERE c.id = \(id) AND c.status = ANY(\(ConnectionStatus.disconnected.predecessors))
            RETURNING \(unescaped: ConnectionSubject.columns)
            """).first else { return false }
        try Outbox.emit(ConnectionDisconnected(reason: reason), about: try ConnectionSubject(row: row), on: tx)
        return true
    }

    /// `active` → `suspended` for the WABA's Coexistence connections (only the one whose
    /// number matches `displayPhoneNumber`, when given), each with `connection.suspended`.
    @discardableResult
    static func suspend(waba: String, displayPhoneNumber: String?, reason: String, on tx: Connection) throws -> Int {
        let rows = try tx.sql("""
            UPDATE connections c SET status = 'suspended', suspended_at = now(), updated_at = now()
            WHERE c.waba_id = \(waba) AND c.status = ANY(\(ConnectionStatus.suspended.predecessors)) AND c.connection_mode = 'coexistence'
              AND (\(displayPhoneNumber)::text IS NULL OR \(sameNumber("c.display_phone_number", displayPhoneNumber)))
            RETURNING \(unescaped: ConnectionSubject.columns)
            """).rows
        for row in rows { try Outbox.emit(ConnectionSuspended(reason: reason), about: try ConnectionSubject(row: row), on: tx) }
        return rows.count
    }

    /// `suspended` → `active`, each with `connection.resumed`: nothing is onboarded again.
    @discardableResult
    static func resume(waba: String, displayPhoneNumber: String?, reason: String, on tx: Connection) throws -> Int {
        let rows = try tx.sql("""
            UPDATE connections c SET status = 'active', suspended_at = NULL, updated_at = now()
            WHERE c.waba_id = \(waba) AND c.status = ANY(\(ConnectionStatus.active.predecessors))
              AND (\(displayPhoneNumber)::text IS NULL OR \(sameNumber("c.display_phone_number", displayPhoneNumber)))
            RETURNING \(unescaped: ConnectionSubject.columns)
            """).rows
        for row in rows { try Outbox.emit(ConnectionResumed(reason: reason), about: try ConnectionSubject(row: row), on: tx) }
        return rows.count
    }

    /// An `unknown` number Meta has settled, with `connection.mode_resolved`.
    static func settleMode(_ id: String, mode: ConnectionMode, on tx: Connection) throws {
        guard let row = try tx.sql("""
            UPDATE connections c SET connection_mode = \(mode.rawValue), registered = \(mode == .cloudAPI), updated_at = now()
            WHERE c.id = \(id) AND c.connection_mode = 'unknown'
            RETURNING \(unescaped: ConnectionSubject.columns)
            """).first else { return }
        try Outbox.emit(ConnectionModeResolved(connectionMode: mode.rawValue, previousMode: ConnectionMode.unknown.rawValue),
                        about: try ConnectionSubject(row: row), on: tx)
    }

    static func markRegistered(_ id: String, on connection: Connection) throws {
        try connection.sql("UPDATE connections SET registered = true, updated_at = now() WHERE id = \(id)")
    }

    /// Kept before Meta sets it, so a retry registers with the same PIN.
    static func keepRegistrationPin(_ id: String, sealed: String, on connection: Connection) throws {
        try connection.sql("UPDATE connections SET registration_pin = \(sealed) WHERE id = \(id)")
    }

    /// Coexistence: `sync_type` → Meta's `request_id`.
    static func recordSync(_ id: String, requestsJSON: String, on connection: Connection) throws {
        try connection.sql("UPDATE connections SET sync_requests = \(requestsJSON)::jsonb, updated_at = now() WHERE id = \(id)")
    }

    /// The webhook configuration Meta accepted, on one connection.
    static func setWebhook(_ id: String, url: String, sealedVerifyToken: String, on connection: Connection) throws {
        try connection.sql("""
            UPDATE connections SET webhook_override_url = \(url), webhook_verify_token = \(sealedVerifyToken), updated_at = now() WHERE id = \(id)
            """)
    }

    /// Where Meta sends the number's webhooks, as last read back.
    static func recordRouting(_ id: String, effectiveURL: String?, on connection: Connection) throws {
        try connection.sql("UPDATE connections SET routing_effective_url = \(effectiveURL), routing_checked_at = now() WHERE id = \(id)")
    }

    /// A number Meta renamed (`phone_number_name_update` approved), found by its display number.
    static func rename(waba: String, displayPhoneNumber: String?, verifiedName: String, on tx: Connection) throws {
        try tx.sql("""
            UPDATE connections SET verified_name = \(verifiedName), updated_at = now()
            WHERE waba_id = \(waba) AND status IN ('active', 'suspended') AND \(sameNumber("display_phone_number", displayPhoneNumber))
            """)
    }

    /// SQL comparing two phone numbers by their digits (`+1 555-010-1234` = `15550101234`); a
    /// number without digits (or none) matches nothing.
    static func sameNumber(_ column: String, _ number: String?) -> PostgresQuery {
        """
        (regexp_replace(COALESCE(\(number)::text, ''), '[^0-9]', '', 'g') <> ''
         AND regexp_replace(COALESCE(\(unescaped: column), ''), '[^0-9]', '', 'g') = regexp_replace(\(number)::text, '[^0-9]', '', 'g'))
        """
    }
}
