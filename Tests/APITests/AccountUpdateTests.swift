import Foundation
import Postgres
import TestSupport
import Testing

/// Meta's management webhooks as the fake Meta sends them (`/_fake/emit`, routed as Meta routes
/// them, so they reach the app callback): partner removals and uninstalls, Coexistence
/// offboarding, bans, quality updates, and fields Dualhook does not know.
@Suite(.serialized) struct AccountUpdateTests {
    /// An onboarding whose tenant endpoint is `receiver`.
    func onboard(_ f: OnboardingFixture, receiver: EventReceiver, tenant: String = "cust_a", waba: String? = nil,
                 mode: String = "cloud_api") throws -> (connection: String, waba: String, phone: String) {
        let made = try f.onboard(to: receiver.url, tenant: tenant, waba: waba, mode: mode)
        // The poll made with the connection reads its baseline first; changes are counted from there.
        #expect(eventually(timeout: 20) {
            (try? f.server.send("GET", "/api/v1/connections/\(made.connection)/health", key: f.key).json["checkedAt"]).map { !($0 is NSNull) } == true
        })
        return made
    }

    /// Meta sends a change; it must reach Dualhook's app callback.
    @discardableResult
    func emit(_ f: OnboardingFixture, waba: String, entryID: String? = nil, field: String, valueText: String) throws -> [String: Any] {
        var body: [String: Any] = ["wabaId": waba, "field": field, "valueText": valueText]
        if let entryID { body["entryId"] = entryID }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        let answer = try f.meta.post("/_fake/emit", json)
        #expect(answer["target"] as? String == f.server.baseURL + "/meta/webhook" && answer["status"] as? Int == 200, "\(answer)")
        return answer
    }

    func status(_ f: OnboardingFixture, _ id: String) -> String? { try? f.connection(id)?.decode(String.self, "status") }

    func display(_ f: OnboardingFixture, _ phone: String, _ waba: String) throws -> String {
        try #require(try f.meta.phone(phone, waba: waba).flatMap { _ in
            try f.db.with { try $0.sql("SELECT display_phone_number FROM connections WHERE phone_number_id = \(phone)").scalar(String.self) }
        })
    }

    @Test func anUninstallNamedByThePartnersBusinessEndsThatWABAsConnectionsOnly() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let tenant = try EventReceiver()
        defer { tenant.stop() }
        let first = try onboard(f, receiver: tenant)
        let sibling = try onboard(f, receiver: tenant, waba: first.waba)
        let other = try onboard(f, receiver: tenant, tenant: "cust_b")
        // Meta names the partner's business as the entry; the customer's WABA is in waba_info.
        try emit(f, waba: first.waba, entryID: "998877665544", field: "account_update",
                 valueText: #"{"event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":"\#(first.waba)","owner_business_id":"4455","partner_app_id":"1234567890"}}"#)
        #expect(eventually(timeout: 20) { status(f, first.connection) == "disconnected" && status(f, sibling.connection) == "disconnected" })
        #expect(status(f, other.connection) == "active")
        let ended = try f.events("connection.disconnected")
        #expect(ended.count == 2 && ended.allSatisfy { $0["reason"] as? String == "partner_app_uninstalled" && $0["wabaId"] as? String == first.waba })
        // Installing is recorded and forwarded, and changes nothing.
        try emit(f, waba: other.waba, entryID: "998877665544", field: "account_update",
                 valueText: #"{"event":"PARTNER_APP_INSTALLED","waba_info":{"waba_id":"\#(other.waba)","owner_business_id":"4455","partner_app_id":"1234567890"}}"#)
        // This one (business 4455), not a signup's own notice.
        #expect(eventually(timeout: 10) {
            tenant.forwards("account_update").contains {
                let body = String(decoding: $0.body, as: UTF8.self)
                return body.contains("PARTNER_APP_INSTALLED") && body.contains(#""owner_business_id":"4455""#)
            }
        })
        #expect(status(f, other.connection) == "active")
    }

    @Test func aCoexistencePartnerRemovalEndsOnlyItsNumberAndOffboardingSuspendsUntilReconnected() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let tenant = try EventReceiver()
        defer { tenant.stop() }
        let first = try onboard(f, receiver: tenant, mode: "coexistence")
        let second = try onboard(f, receiver: tenant, waba: first.waba, mode: "coexistence")
        let firstNumber = try display(f, first.phone, first.waba).filter(\.isNumber)
        let secondNumber = try display(f, second.phone, second.waba).filter(\.isNumber)

        // The number moved devices: suspended, not ended; then reconnected: active again.
        try emit(f, waba: first.waba, field: "account_update", valueText: #"{"phone_number":"\#(firstNumber)","event":"ACCOUNT_OFFBOARDED"}"#)
        #expect(eventually(timeout: 20) { status(f, first.connection) == "suspended" })
        #expect(status(f, second.connection) == "active")
        let shown = try f.server.send("GET", "/api/v1/connections/\(first.connection)", key: f.key).json
        #expect(shown["status"] as? String == "suspended")
        #expect((shown["heartbeat"] as? [String: Any])?["applies"] as? Bool == false, "no app use to confirm while suspended")
        #expect(try f.server.send("GET", "/api/v1/connections?status=suspended", key: f.key).json["data"].map { ($0 as? [Any])?.count } == 1)
        // No heartbeat reminder and no health poll while suspended.
        #expect(try f.server.send("POST", "/api/v1/connections/\(first.connection)/health/refresh", key: f.key).status == 409)
        try emit(f, waba: first.waba, field: "account_update", valueText: #"{"phone_number":"\#(firstNumber)","event":"ACCOUNT_RECONNECTED"}"#)
        #expect(eventually(timeout: 20) { status(f, first.connection) == "active" })
        #expect((try f.server.send("GET", "/api/v1/connections/\(first.connection)", key: f.key).json["heartbeat"] as? [String: Any])?["applies"] as? Bool
                == true)
        #expect(try f.events("connection.suspended").compactMap { $0["connectionId"] as? String } == [first.connection])
        let resumed = try f.events("connection.resumed")
        #expect(resumed.compactMap { $0["connectionId"] as? String } == [first.connection])
        #expect(resumed.first?["metadata"] as? [String: String] == ["plan": "pro"])
        let sessions = try f.db.with { try $0.sql("SELECT count(*) FROM onboarding_sessions").scalar(Int.self) }
        #expect(sessions == 2, "nothing onboarded again")

        // PARTNER_REMOVED naming one Coexistence number ends that number's connection only.
        try emit(f, waba: first.waba, field: "account_update", valueText: #"{"phone_number":"\#(secondNumber)","event":"PARTNER_REMOVED"}"#)
        #expect(eventually(timeout: 20) { status(f, second.connection) == "disconnected" })
        #expect(status(f, first.connection) == "active")
        #expect(try f.events("connection.disconnected").last?["reason"] as? String == "partner_removed")
    }

    @Test func aBanAsAListDisconnectsAndAScheduledDisableIsAHealthIssue() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let tenant = try EventReceiver()
        defer { tenant.stop() }
        let warned = try onboard(f, receiver: tenant)
        let banned = try onboard(f, receiver: tenant, tenant: "cust_b")

        try emit(f, waba: warned.waba, field: "account_update",
                 valueText: #"{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":["SCHEDULE_FOR_DISABLE"],"waba_ban_date":"2026-12-24"}}"#)
        #expect(eventually(timeout: 20) { (try? f.events("connection.health_changed").count) == 1 })
        let health = try f.server.send("GET", "/api/v1/connections/\(warned.connection)/health", key: f.key).json
        let issues = health["issues"] as? [[String: Any]] ?? []
        #expect(issues.count == 1 && issues.first?["code"] as? String == "SCHEDULE_FOR_DISABLE")
        #expect((issues.first?["description"] as? String)?.contains("2026-12-24") == true)
        let changed = try #require(try f.events("connection.health_changed").first)
        #expect((changed["previous"] as? [String: Any])?["issues"] as? [Any] != nil)
        #expect(((changed["current"] as? [String: Any])?["issues"] as? [[String: Any]])?.first?["code"] as? String == "SCHEDULE_FOR_DISABLE")
        #expect(status(f, warned.connection) == "active")

        // Reinstated: the warning goes, with another health_changed.
        try emit(f, waba: warned.waba, field: "account_update", valueText: #"{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"REINSTATE"}}"#)
        #expect(eventually(timeout: 20) { (try? f.events("connection.health_changed").count) == 2 })
        #expect((try f.server.send("GET", "/api/v1/connections/\(warned.connection)/health", key: f.key).json["issues"] as? [Any])?.isEmpty == true)

        try emit(f, waba: banned.waba, field: "account_update",
                 valueText: #"{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":["DISABLE"],"waba_ban_date":"2026-12-01"}}"#)
        #expect(eventually(timeout: 20) { status(f, banned.connection) == "disconnected" })
        #expect(try f.events("connection.disconnected").last?["reason"] as? String == "account_banned")
        #expect(status(f, warned.connection) == "active")
    }

    @Test func aQualityUpdateIsForwardedByteForByteSignedForMetaLibrariesAndUnknownFieldsToo() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let tenant = try EventReceiver()
        defer { tenant.stop() }
        let live = try onboard(f, receiver: tenant)
        let number = try display(f, live.phone, live.waba).filter(\.isNumber)
        // Meta's current shape: no rating, the display number, the limit; odd spacing and an
        // escaped character, which must reach the tenant exactly so.
        let value = #"{ "display_phone_number" : "\#(number)", "event":"UPGRADE",  "max_daily_conversations_per_business":"TIER_10K","note":"caf\u00e9" }"#
        let sent = try emit(f, waba: live.waba, field: "phone_number_quality_update", valueText: value)
        #expect(eventually(timeout: 20) { tenant.requests.contains { $0.headers["x-dualhook-event"] == "phone_number_quality_update" } })
        Thread.sleep(forTimeInterval: 1)
        let forwards = tenant.requests.filter { $0.headers["x-dualhook-event"] == "phone_number_quality_update" }
        #expect(forwards.count == 1, "forwarded once")
        let forward = try #require(forwards.first)
        let text = String(decoding: forward.body, as: UTF8.self)
        #expect(text.contains(#""value":\#(value)"#), "the value's bytes as Meta sent them: \(text)")
        let sentTime = (sent["sent"] as? String).flatMap { s in s.range(of: #""time":[0-9]+"#, options: .regularExpression).map { String(s[$0]) } }
        #expect(sentTime != nil && text.contains(sentTime!), "Meta's time")
        #expect(try OpenSSL.verifiesMeta(header: forward.headers["x-hub-signature-256"] ?? "", body: forward.body,
                                         secret: f.api.account.eventSigningSecret))
        var tampered = forward.body
        tampered[tampered.count / 2] ^= 1
        #expect(try !OpenSSL.verifiesMeta(header: forward.headers["x-hub-signature-256"] ?? "", body: tampered,
                                          secret: f.api.account.eventSigningSecret))
        // The limit is recorded, with connection.health_changed, and a poll reads the rest.
        #expect(eventually(timeout: 20) {
            (try? f.server.send("GET", "/api/v1/connections/\(live.connection)/health", key: f.key).json["messagingLimit"] as? String) != nil
        })
        #expect(try f.events("connection.health_changed").contains { ($0["current"] as? [String: Any])?["messagingLimit"] as? String == "TIER_10K" })

        // A field Dualhook has never heard of still reaches the tenant.
        try emit(f, waba: live.waba, field: "business_status_update", valueText: #"{"event":"SOMETHING_NEW","x":[1,2,3]}"#)
        #expect(eventually(timeout: 20) { tenant.requests.contains { $0.headers["x-dualhook-event"] == "business_status_update" } })
    }

    @Test func healthPollsReadTheLimitAndTheIssuesAndEmitChanges() throws {
        let f = try OnboardingFixture()
        defer { f.close() }
        let tenant = try EventReceiver()
        defer { tenant.stop() }
        let live = try onboard(f, receiver: tenant)
        try f.meta.post("/_fake/phones/\(live.phone)",
                        #"{"healthStatus":"LIMITED","messagingLimit":"TIER_250","healthErrors":[{"code":141006,"description":"The payment method has an issue"}]}"#)
        #expect(try f.server.send("POST", "/api/v1/connections/\(live.connection)/health/refresh", key: f.key).status == 202)
        var health: [String: Any] = [:]
        #expect(eventually(timeout: 20) {
            health = (try? f.server.send("GET", "/api/v1/connections/\(live.connection)/health", key: f.key).json) ?? [:]
            return health["status"] as? String == "LIMITED"
        })
        #expect(health["messagingLimit"] as? String == "TIER_250")
        let issues = health["issues"] as? [[String: Any]] ?? []
        #expect(issues.count == 1 && issues.first?["entity"] as? String == "PHONE_NUMBER" && issues.first?["code"] as? String == "141006")
        let changed = try f.events("connection.health_changed")
        #expect(changed.count >= 1)
        #expect((changed.last?["current"] as? [String: Any])?["status"] as? String == "LIMITED")
        let before = changed.count
        // The same reading again changes nothing, and says nothing.
        #expect(try f.server.send("POST", "/api/v1/connections/\(live.connection)/health/refresh", key: f.key).status == 202)
        Thread.sleep(forTimeInterval: 2)
        #expect(try f.events("connection.health_changed").count == before)
    }
}
