import Crypto
import Foundation
import HTTPServer
import JobQueue
import Logging
import Postgres

/// `GET /meta/webhook` (Meta's verification) and `POST /meta/webhook` (the app-level callback).
/// The signature is checked over the raw body before anything else; then each change is
/// recorded, deduplicated and queued, in the request's one transaction, and the answer is 200.
/// Message-path fields here are a routing anomaly: logged (WABA, field, time) and dropped.
enum MetaCallbackRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        router.add("GET", "/meta/webhook", RouteEntry(authenticated: false, handler: verify))
        router.add("POST", "/meta/webhook", RouteEntry(authenticated: false, storesReplies: false, handler: receive))
    }

    /// What Meta delivers to the tenant's own URL through the override; never processed here.
    static let messagePathFields: Set<String> = ["messages", "smb_message_echoes", "history"]
    static let managementFields: Set<String> = [
        "message_template_status_update", "message_template_quality_update", "phone_number_quality_update",
        "phone_number_name_update", "account_update", "account_review_update", "business_capability_update",
        "smb_app_state_sync", "template_category_update", "security", "account_alerts",
    ]
    static let logger = Logger(label: "meta-callback")

    static func verify(_ context: APIContext) throws -> Response {
        let query = context.request.query
        let expected = Data(context.configuration.meta.webhookVerifyToken.utf8)
        guard query["hub.mode"] == "subscribe", let challenge = query["hub.challenge"],
              ConstantTime.equals(Data((query["hub.verify_token"] ?? "").utf8), expected) else {
            throw APIError(status: 403, code: "forbidden", message: "the verify token does not match")
        }
        return .text(200, challenge)
    }

    static func receive(_ context: APIContext) throws -> Response {
        let body = context.request.body
        let secret = Data(context.configuration.meta.appSecret.utf8)
        guard let header = context.request.header("X-Hub-Signature-256"), header.hasPrefix("sha256="),
              let given = Data(hexString: String(header.dropFirst(7))),
              ConstantTime.equals(given, Digest.hmacSHA256(key: secret, message: body)) else {
            throw APIError(status: 401, code: "unauthorized", message: "X-Hub-Signature-256 is missing or does not match the body",
                           param: "X-Hub-Signature-256")
        }
        guard let envelope = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw APIError.invalidJSON("the body is not a JSON object")
        }
        var recorded = 0
        for entry in envelope["entry"] as? [[String: Any]] ?? [] {
            let waba = (entry["id"] as? String) ?? (entry["id"] as? NSNumber)?.stringValue
            for change in entry["changes"] as? [[String: Any]] ?? [] {
                guard let field = change["field"] as? String else { continue }
                if messagePathFields.contains(field) {
                    // Where and when only: the value (message content) is neither logged nor kept.
                    logger.warning("routing anomaly: a message-path field reached the app callback", ["waba": waba ?? "-", "field": field])
                    try context.connection.query("INSERT INTO routing_anomalies (waba_id, field) VALUES ($1, $2)", [waba, field])
                } else if managementFields.contains(field), let waba, let value = change["value"] {
                    if try ManagementChange.record(waba: waba, field: field, value: value, on: context.connection) { recorded += 1 }
                } else {
                    logger.info("ignored an app callback field", ["waba": waba ?? "-", "field": field])
                }
            }
        }
        return .json(200, ["received": recorded])
    }
}
