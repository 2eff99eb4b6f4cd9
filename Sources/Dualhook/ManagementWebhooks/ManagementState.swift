import Foundation
import JobQueue
import Postgres

/// What a management change means for Dualhook's own state, applied once per change in the
/// transaction that marks it applied.
enum ManagementState {
    /// `account_update` events that end every connection of the WABA, with the reason each
    /// `connection.disconnected` names. The partner link is gone at Meta: nothing to unsubscribe.
    static let endingEvents = [
        "PARTNER_REMOVED": "partner_removed", "PARTNER_APP_UNINSTALLED": "partner_app_uninstalled",
        "ACCOUNT_DELETED": "account_deleted", "ACCOUNT_OFFBOARDED": "coexistence_offboarded",
    ]

    static func apply(changeID: String, waba: String, field: String, value: [String: Any], on tx: Connection) throws {
        guard try tx.query("UPDATE management_changes SET applied_at = now() WHERE id = $1 AND applied_at IS NULL RETURNING 1",
                           [changeID]).first != nil else { return }
        func text(_ key: String) -> String? { value[key] as? String ?? (value[key] as? NSNumber)?.stringValue }
        switch field {
        case "phone_number_quality_update":
            try tx.query("""
                UPDATE connections SET quality_rating = COALESCE($3, quality_rating),
                    messaging_limit_tier = COALESCE($4, messaging_limit_tier), updated_at = now()
                WHERE waba_id = $1 AND status = 'active'
                  AND (phone_number_id = $2 OR regexp_replace(COALESCE(display_phone_number, ''), '[^0-9]', '', 'g')
                                               = regexp_replace(COALESCE($5, '-'), '[^0-9]', '', 'g'))
                """, [waba, text("phone_number_id"), text("current_quality_rating"), text("current_limit"), text("display_phone_number")])
        case "message_template_status_update", "message_template_quality_update", "template_category_update":
            guard let template = text("message_template_id") else { return }
            try tx.query("""
                INSERT INTO templates AS t (waba_id, template_id, name, language, status, quality, category)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (waba_id, template_id) DO UPDATE SET name = COALESCE(EXCLUDED.name, t.name),
                    language = COALESCE(EXCLUDED.language, t.language), status = COALESCE(EXCLUDED.status, t.status),
                    quality = COALESCE(EXCLUDED.quality, t.quality), category = COALESCE(EXCLUDED.category, t.category),
                    updated_at = now()
                """, [waba, template, text("message_template_name"), text("message_template_language"),
                      field == "message_template_status_update" ? text("event") : nil,
                      field == "message_template_quality_update" ? text("new_quality_score") : nil,
                      field == "template_category_update" ? text("new_category") : nil])
        case "account_update":
            let event = text("event") ?? ""
            let banned = event == "DISABLED_UPDATE" && ((value["ban_info"] as? [String: Any])?["waba_ban_state"] as? String) == "DISABLE"
            if let reason = banned ? "account_banned" : endingEvents[event] {
                let ids = try tx.query("SELECT id FROM connections WHERE waba_id = $1 AND status = 'active'", [waba])
                    .rows.map { try $0.decode(String.self, at: 0) }
                for id in ids {
                    try Disconnect.enqueue(id, reason: reason, unsubscribe: false, on: tx)
                }
            } else if event == "ACCOUNT_RECONNECTED" {
                try settleCoexistence(waba: waba, on: tx)
            }
        case "smb_app_state_sync":
            try settleCoexistence(waba: waba, on: tx)
        case "phone_number_name_update":
            if text("decision") == "APPROVED", let name = text("requested_verified_name") {
                try tx.query("""
                    UPDATE connections SET verified_name = $2, updated_at = now()
                    WHERE waba_id = $1 AND status = 'active'
                      AND regexp_replace(COALESCE(display_phone_number, ''), '[^0-9]', '', 'g') = regexp_replace(COALESCE($3, '-'), '[^0-9]', '', 'g')
                    """, [waba, name, text("display_phone_number")])
            }
        default:
            break  // forwarded only
        }
    }

    /// The WhatsApp Business app is in use on the WABA's numbers: a Coexistence number Meta had
    /// not settled is Coexistence now (`connection.mode_resolved`), and the sync time is kept.
    static func settleCoexistence(waba: String, on tx: Connection) throws {
        let resolved = try tx.query("""
            UPDATE connections c SET connection_mode = 'coexistence', updated_at = now()
            WHERE c.waba_id = $1 AND c.status = 'active' AND c.connection_mode = 'unknown'
            RETURNING c.id, c.account_id, c.tenant_id, c.session_id, c.phone_number_id,
                      (SELECT s.metadata::text FROM onboarding_sessions s WHERE s.id = c.session_id)
            """, [waba]).rows
        for row in resolved {
            let data = Outbox.data([
                "tenantId": try row.decode(String.self, at: 2), "sessionId": try row.decode(String?.self, at: 3),
                "connectionId": try row.decode(String.self, at: 0), "wabaId": waba, "phoneNumberId": try row.decode(String.self, at: 4),
                "connectionMode": "coexistence", "previousMode": "unknown",
            ], metadataJSON: try row.decode(String?.self, at: 5) ?? "{}")
            try Outbox.emit(type: "connection.mode_resolved", accountID: try row.decode(at: 1), dataJSON: data, on: tx)
        }
        try tx.query("""
            UPDATE connections SET coexistence_synced_at = now() WHERE waba_id = $1 AND status = 'active' AND connection_mode = 'coexistence'
            """, [waba])
    }
}
