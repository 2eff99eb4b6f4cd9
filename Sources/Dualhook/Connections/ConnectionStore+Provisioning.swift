import Foundation
import Postgres

/// A connection as onboarding stores it; secrets arrive sealed.
struct ConnectionRecord {
    let id: String
    let accountID: String
    let tenantID: String
    let sessionID: String
    let wabaID: String
    let phoneNumberID: String
    let businessID: String?
    let displayPhoneNumber: String?
    let verifiedName: String?
    let mode: ConnectionMode
    let sealedAccessToken: String
    let sealedRegistrationPin: String?
    let registered: Bool
    let qualityRating: String?
    let webhookOverrideURL: String
    let sealedVerifyToken: String
    let webhookScope: WebhookScope
    let routingEffectiveURL: String?
    let tokenExpiresAt: Date?
    let syncRequestsJSON: String
}

extension ConnectionStore {
    /// Stores a freshly onboarded connection, or (`replacing`) gives a number already live for
    /// the same tenant its new token and configuration; a suspended one becomes active again,
    /// with `connection.resumed`.
    static func store(_ record: ConnectionRecord, replacing: Bool, on tx: Connection) throws {
        let values: [(any PostgresEncodable)?] = [
            record.id, record.accountID, record.tenantID, record.sessionID, record.wabaID, record.phoneNumberID, record.businessID,
            record.displayPhoneNumber, record.verifiedName, record.mode.rawValue, record.sealedAccessToken,
            record.sealedRegistrationPin, record.registered, record.qualityRating, record.webhookOverrideURL,
            record.sealedVerifyToken, record.webhookScope.rawValue, record.routingEffectiveURL, record.tokenExpiresAt,
            record.syncRequestsJSON,
        ]
        if !replacing {
            try tx.query("""
                INSERT INTO connections (id, account_id, tenant_id, session_id, waba_id, phone_number_id, business_id,
                    display_phone_number, verified_name, connection_mode, access_token, registration_pin, registered,
                    quality_rating, webhook_override_url, webhook_verify_token, webhook_scope, routing_effective_url,
                    routing_checked_at, token_expires_at, sync_requests)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, now(), $19, $20::jsonb)
                """, values)
        } else {
            let previous = try tx.query("SELECT status FROM connections WHERE id = $1 FOR UPDATE", [record.id]).scalar(String.self)
            try tx.query("""
                UPDATE connections SET session_id = $4, waba_id = $5, business_id = COALESCE($7, business_id),
                    display_phone_number = $8, verified_name = $9, connection_mode = $10, access_token = $11,
                    registration_pin = COALESCE($12, registration_pin), registered = $13, quality_rating = $14,
                    webhook_override_url = $15, webhook_verify_token = $16, webhook_scope = $17,
                    routing_effective_url = $18, routing_checked_at = now(), token_expires_at = $19,
                    token_expiring_notified_at = NULL, sync_requests = $20::jsonb, status = 'active', suspended_at = NULL,
                    updated_at = now()
                WHERE id = $1 AND account_id = $2 AND tenant_id = $3 AND phone_number_id = $6
                """, values)
            // The tenant onboarded a suspended number again: that is its way back to active.
            if previous == ConnectionStatus.suspended.rawValue,
               let row = try tx.query("SELECT \(ConnectionSubject.columns) FROM connections c WHERE c.id = $1", [record.id]).first {
                try Outbox.emit(ConnectionResumed(reason: "onboarded_again"), about: try ConnectionSubject(row: row), on: tx)
            }
        }
        // Health is read once now, not at the sweep's next round up to ten minutes away.
        try PollHealth.bringForward(record.id, on: tx)
    }
}
