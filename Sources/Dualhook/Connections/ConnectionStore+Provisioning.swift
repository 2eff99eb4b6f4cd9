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
        let r = record
        if !replacing {
            try tx.sql("""
                INSERT INTO connections (id, account_id, tenant_id, session_id, waba_id, phone_number_id, business_id,
                    display_phone_number, verified_name, connection_mode, access_token, registration_pin, registered,
                    quality_rating, webhook_override_url, webhook_verify_token, webhook_scope, routing_effective_url,
                    routing_checked_at, token_expires_at, sync_requests)
                VALUES (\(r.id), \(r.accountID), \(r.tenantID), \(r.sessionID), \(r.wabaID), \(r.phoneNumberID), \(r.businessID),
                        \(r.displayPhoneNumber), \(r.verifiedName), \(r.mode.rawValue), \(r.sealedAccessToken), \(r.sealedRegistrationPin),
                        \(r.registered), \(r.qualityRating), \(r.webhookOverrideURL), \(r.sealedVerifyToken), \(r.webhookScope.rawValue),
                        \(r.routingEffectiveURL), now(), \(r.tokenExpiresAt), \(PostgresRawJSON(r.syncRequestsJSON))::jsonb)
                """)
        } else {
            let previous = try tx.sql("SELECT status FROM connections WHERE id = \(r.id) FOR UPDATE").scalar(String.self)
            try tx.sql("""
                UPDATE connections SET session_id = \(r.sessionID), waba_id = \(r.wabaID), business_id = COALESCE(\(r.businessID), business_id),
                    display_phone_number = \(r.displayPhoneNumber), verified_name = \(r.verifiedName), connection_mode = \(r.mode.rawValue),
                    access_token = \(r.sealedAccessToken), registration_pin = COALESCE(\(r.sealedRegistrationPin), registration_pin),
                    registered = \(r.registered), quality_rating = \(r.qualityRating), webhook_override_url = \(r.webhookOverrideURL),
                    webhook_verify_token = \(r.sealedVerifyToken), webhook_scope = \(r.webhookScope.rawValue),
                    routing_effective_url = \(r.routingEffectiveURL), routing_checked_at = now(), token_expires_at = \(r.tokenExpiresAt),
                    token_expiring_notified_at = NULL, sync_requests = \(PostgresRawJSON(r.syncRequestsJSON))::jsonb, status = 'active',
                    suspended_at = NULL, updated_at = now()
                WHERE id = \(r.id) AND account_id = \(r.accountID) AND tenant_id = \(r.tenantID) AND phone_number_id = \(r.phoneNumberID)
                """)
            // The tenant onboarded a suspended number again: that is its way back to active.
            if previous == ConnectionStatus.suspended.rawValue,
               let row = try tx.sql("SELECT \(unescaped: ConnectionSubject.columns) FROM connections c WHERE c.id = \(record.id)").first {
                try Outbox.emit(ConnectionResumed(reason: "onboarded_again"), about: try ConnectionSubject(row: row), on: tx)
            }
        }
        // Health is read once now, not at the sweep's next round up to ten minutes away.
        try PollHealth.bringForward(record.id, on: tx)
    }
}
