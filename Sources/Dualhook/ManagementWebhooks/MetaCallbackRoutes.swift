import Crypto
import Foundation
import HTTPServer
import JobQueue
import Logging
import Meta
import Postgres

/// `GET /meta/webhook` (Meta's verification) and `POST /meta/webhook` (the app-level callback).
/// The signature is checked over the raw body before anything else; then each change is
/// recorded, deduplicated and queued in one transaction (shared with the deliveries arriving
/// meanwhile: `ManagementChange.recorder`), and the answer, once it committed, is 200.
/// Fields an override captures are a routing anomaly here: logged (WABA, field, time) and
/// dropped; every other field, known or not, is recorded and forwarded.
///
/// When the database cannot take the changes (down, or a commit whose outcome is unknown) the
/// answer is 503 `unavailable`, never a 200 for something not recorded: Meta delivers again a
/// notification answered with a status other than 200, with increasing delays (its WhatsApp
/// webhooks page, https://developers.facebook.com/docs/whatsapp/api/webhooks, written for the
/// On-Premises API). A change that had been recorded after all is dropped as a duplicate if
/// it comes back within 10 minutes; a later redelivery is recorded and forwarded again.
enum MetaCallbackRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        router.add("GET", "/meta/webhook", RouteEntry(.metaCallback, borrowing: verify))
        router.add("POST", "/meta/webhook", RouteEntry(.metaCallback, borrowing: receive))
    }

    /// The fields a webhook override captures: Meta sends them to the tenant's own URL, never
    /// here, so nothing may depend on receiving them; one arriving here is a routing anomaly
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/override).
    static let overriddenFields: Set<String> = [
        "messages", "message_echoes", "calls", "consumer_profile", "messaging_handovers", "standby",
        "group_lifecycle_update", "group_participants_update", "group_settings_update", "group_status_update",
        "smb_message_echoes", "smb_app_state_sync", "history", "account_settings_update",
    ]
    static let logger = Logger(label: "meta-callback")

    static func verify(_ request: Request, _ app: App) throws -> Response {
        let query = request.query
        let expected = Data(app.configuration.meta.webhookVerifyToken.utf8)
        guard query["hub.mode"] == "subscribe", let challenge = query["hub.challenge"],
              ConstantTime.equals(Data((query["hub.verify_token"] ?? "").utf8), expected) else {
            throw APIError(status: 403, code: "forbidden", message: "the verify token does not match")
        }
        return .text(200, challenge)
    }

    static func receive(_ request: Request, _ app: App) throws -> Response {
        let body = request.body
        let secret = Data(app.configuration.meta.appSecret.utf8)
        guard let header = request.header("X-Hub-Signature-256"), header.hasPrefix("sha256="),
              let given = Data(hexString: String(header.dropFirst(7))),
              ConstantTime.equals(given, Digest.hmacSHA256(key: secret, message: body)) else {
            throw APIError(status: 401, code: "unauthorized", message: "X-Hub-Signature-256 is missing or does not match the body",
                           param: "X-Hub-Signature-256")
        }
        guard let envelope = try? WebhookEnvelope(body) else {
            throw APIError.invalidJSON("the body is not a JSON object")
        }
        var delivery = ManagementChange.Delivery()
        for entry in envelope.entries {
            // Ids and names as stored: a U+0000 in them (which no text parameter carries) as U+FFFD.
            let entryID = entry.id.map(ManagementChange.storable)
            for change in entry.changes {
                let field = ManagementChange.storable(change.field)
                if overriddenFields.contains(field) {
                    // Where and when only: the value (message content) is neither logged nor kept.
                    logger.warning("routing anomaly: a field an override captures reached the app callback",
                                   ["waba": entryID ?? "-", "field": field])
                    delivery.anomalies.append((entryID, field))
                } else if let entryID {
                    // Every other field, known or not, is recorded and forwarded as Meta sent it.
                    delivery.changes.append(.init(entryID: entryID, time: entry.time, field: field, rawValue: change.rawValue,
                                                  canonical: change.canonicalValue))
                }
            }
        }
        // One transaction shared with the deliveries arriving meanwhile (group commit); the
        // answer waits for its commit. Each transaction (the batch's, or a delivery's own when
        // the batch failed) borrows a connection of its own: a broken one is not lent again.
        let recorded = delivery.isEmpty ? 0 : try ManagementChange.recorder.submit([delivery]) { write in
            try app.pool.withConnection { try write($0) }
        }[0]
        // Written out: a JSONEncoder for one number was 5 % of the callback's CPU time.
        return .text(200, "{\"received\":\(recorded)}", contentType: "application/json")
    }
}
