import Foundation
import JobQueue
import Postgres

/// What a management change means for Dualhook's own state, applied once per change in the
/// transaction that marks it applied. Payloads are read as Meta's webhook reference pages
/// describe them; fields Dualhook does not act on are only forwarded.
enum ManagementState {
    static func apply(changeID: String, waba: String, field: String, value: [String: Any], on tx: Connection) throws {
        guard try tx.sql("UPDATE management_changes SET applied_at = now() WHERE id = \(changeID) AND applied_at IS NULL RETURNING 1").first != nil else { return }
        func text(_ key: String) -> String? { ManagementState.text(value[key]) }
        switch field {
        case "account_update":
            try AccountUpdate(value).apply(waba: waba, on: tx)
        case "phone_number_quality_update":
            try qualityUpdate(waba: waba, value: value, on: tx)
        case "message_template_status_update", "message_template_quality_update", "template_category_update":
            guard let template = text("message_template_id") else { return }
            let status = field == "message_template_status_update" ? text("event") : nil
            let quality = field == "message_template_quality_update" ? text("new_quality_score") : nil
            let category = field == "template_category_update" ? text("new_category") : nil
            try tx.sql("""
                INSERT INTO templates AS t (waba_id, template_id, name, language, status, quality, category)
                VALUES (\(waba), \(template), \(text("message_template_name")), \(text("message_template_language")), \(status),
                        \(quality), \(category))
                ON CONFLICT (waba_id, template_id) DO UPDATE SET name = COALESCE(EXCLUDED.name, t.name),
                    language = COALESCE(EXCLUDED.language, t.language), status = COALESCE(EXCLUDED.status, t.status),
                    quality = COALESCE(EXCLUDED.quality, t.quality), category = COALESCE(EXCLUDED.category, t.category),
                    updated_at = now()
                """)
        case "phone_number_name_update":
            if text("decision") == "APPROVED", let name = text("requested_verified_name") {
                try ConnectionStore.rename(waba: waba, displayPhoneNumber: text("display_phone_number"), verifiedName: name, on: tx)
            }
        default:
            break  // forwarded only
        }
    }

    static func text(_ any: Any?) -> String? { any as? String ?? (any as? NSNumber)?.stringValue }

    /// `phone_number_quality_update` as Meta sends it now: the number by its display number,
    /// `event` (`FLAGGED`, `UNFLAGGED`, `UPGRADE`, `DOWNGRADE`…), and its limit as
    /// `max_daily_conversations_per_business` (or `current_limit` while that lasts), without a
    /// quality rating
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/phone_number_quality_update).
    /// The limit is recorded and a health poll brought forward to read the rating.
    static func qualityUpdate(waba: String, value: [String: Any], on tx: Connection) throws {
        let limit = text(value["max_daily_conversations_per_business"]) ?? text(value["current_limit"])
        for id in try ConnectionStore.live(waba: waba, displayPhoneNumber: text(value["display_phone_number"]), on: tx) {
            if let limit {
                try ConnectionStore.changeHealth(id, on: tx) { previous in
                    (HealthSnapshot(status: previous.status, qualityRating: previous.qualityRating, messagingLimit: limit,
                                    issues: previous.issues), nil)
                }
            }
            try PollHealth.bringForward(id, on: tx)
        }
    }
}

/// One `account_update` change, read as Meta's reference describes it
/// (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/account_update).
struct AccountUpdate {
    let event: String
    /// A Coexistence `PARTNER_REMOVED`, `ACCOUNT_OFFBOARDED` or `ACCOUNT_RECONNECTED` names
    /// the number it is about.
    let phoneNumber: String?
    /// `DISABLED_UPDATE`'s `ban_info.waba_ban_state`: a string, or a list of them.
    let banStates: [String]
    let banDate: String?

    init(_ value: [String: Any]) {
        event = ManagementState.text(value["event"]) ?? ""
        phoneNumber = ManagementState.text(value["phone_number"])
        let ban = value["ban_info"] as? [String: Any]
        if let list = ban?["waba_ban_state"] as? [Any] {
            banStates = list.compactMap(ManagementState.text)
        } else {
            banStates = ManagementState.text(ban?["waba_ban_state"]).map { [$0] } ?? []
        }
        banDate = ManagementState.text(ban?["waba_ban_date"])
    }

    /// The partner link is gone at Meta in each of these, so there is nothing to unsubscribe.
    /// `PARTNER_ADDED` and `PARTNER_APP_INSTALLED` are recorded and forwarded only.
    func apply(waba: String, on tx: Connection) throws {
        switch event {
        case "PARTNER_APP_UNINSTALLED":
            try end(ConnectionStore.live(waba: waba, on: tx), .partnerAppUninstalled, on: tx)
        case "PARTNER_REMOVED":
            // A Coexistence number removed from the partner ends only its own connection.
            try end(ConnectionStore.live(waba: waba, displayPhoneNumber: phoneNumber, on: tx), .partnerRemoved, on: tx)
        case "ACCOUNT_DELETED":
            try end(ConnectionStore.live(waba: waba, on: tx), .accountDeleted, on: tx)
        case "ACCOUNT_OFFBOARDED":
            // A Coexistence number moved devices or re-registered its app: Meta offboards its
            // Cloud API companion until the business reconnects
            // (https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/reconnect-offboarded-coexistence-clients/).
            try ConnectionStore.suspend(waba: waba, displayPhoneNumber: phoneNumber, reason: event, on: tx)
        case "ACCOUNT_RECONNECTED":
            try ConnectionStore.resume(waba: waba, displayPhoneNumber: phoneNumber, reason: event, on: tx)
        case "DISABLED_UPDATE":
            try ban(waba: waba, on: tx)
        default:
            break
        }
    }

    /// `DISABLE` ends the WABA's connections (`account_banned`). `SCHEDULE_FOR_DISABLE` is a
    /// warning: a health issue on each live connection, with `connection.health_changed`.
    /// `REINSTATE` lifts that warning; connections already ended by a `DISABLE` stay ended (the
    /// tenant onboards again, which also re-checks the WABA at Meta).
    func ban(waba: String, on tx: Connection) throws {
        let live = try ConnectionStore.live(waba: waba, on: tx)
        if banStates.contains("DISABLE") {
            return try end(live, .accountBanned, on: tx)
        }
        let scheduled = banStates.contains(HealthIssues.scheduledForDisable)
        guard scheduled || banStates.contains("REINSTATE") else { return }
        let issue = HealthSnapshot.Issue(entity: HealthIssues.ownEntity, code: HealthIssues.scheduledForDisable,
                                         description: "Meta scheduled the WhatsApp Business Account to be disabled" + (banDate.map { " on \($0)" } ?? ""))
        for id in live {
            try ConnectionStore.changeHealth(id, on: tx) { previous in
                var issues = previous.issues.filter { $0.code != HealthIssues.scheduledForDisable }
                if scheduled { issues.append(issue) }
                return (HealthSnapshot(status: previous.status, qualityRating: previous.qualityRating,
                                       messagingLimit: previous.messagingLimit, issues: issues), nil)
            }
        }
    }

    func end(_ ids: [String], _ reason: DisconnectReason, on tx: Connection) throws {
        for id in ids { try Disconnect.enqueue(id, reason: reason, unsubscribe: false, on: tx) }
    }
}
