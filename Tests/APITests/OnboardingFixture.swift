import Dualhook
import Foundation
import Postgres
import TestSupport

/// Everything a whole onboarding needs: the fake Meta, `dualhook serve` and `dualhook work`
/// talking to it, and a tenant endpoint that passes Meta's handshake for the verify token
/// `s3cret`.
final class OnboardingFixture: @unchecked Sendable {
    // `@unchecked Sendable`: set once in init.
    let meta: FakeMetaProcess
    let api: APIFixture
    let worker: DualhookProcess
    let tenant: LoopbackServer

    var db: TestDatabase { api.db }
    var server: APIServer { api.server }
    var key: String { api.account.apiKey }
    var hookURL: String { tenant.base + "/whatsapp" }

    init(serverEnvironment: [String: String] = [:], workerEnvironment: [String: String] = [:]) throws {
        meta = try FakeMetaProcess()
        tenant = try LoopbackServer.handshakeReceiver(token: "s3cret")
        api = try APIFixture(environment: meta.environment.merging(serverEnvironment) { _, new in new })
        worker = try DualhookProcess(["work", "--queues", "onboarding:4,meta:2,events:8,health:2,maintenance:1", "--poll-interval", "0.2"],
                                     databaseURL: api.db.url,
                                     environment: meta.environment.merging(workerEnvironment) { _, new in new }, label: "worker-\(meta.port)")
        // The app's own callback, where Meta sends what no override captures.
        try meta.post("/_fake/app", #"{"callbackUrl":"\#(api.server.baseURL)/meta/webhook"}"#)
    }

    func close() {
        worker.stop()
        api.close()
        meta.stop()
        tenant.stop()
    }

    struct Link {
        let sessionID: String
        let token: String
    }

    func link(_ changes: [String: Any?] = [:], tenant: String = "cust_42") throws -> Link {
        var changes = changes
        if changes["webhookOverrideUrl"] == nil { changes["webhookOverrideUrl"] = hookURL }
        let created = try server.send("POST", "/api/v1/onboarding/sessions", key: key, json: sessionBody(changes, tenant: tenant))
        guard created.status == 201, let url = created.json["onboardingUrl"] as? String else {
            throw SpawnError(message: "session not created: \(created.text)")
        }
        return Link(sessionID: created.json["sessionId"] as! String, token: String(url.split(separator: "/").last!))
    }

    /// A whole onboarding whose tenant endpoint is `url`: a session, a signup at the fake Meta
    /// (a known `waba` adds a number to it), and `complete`; the connection's id, WABA and number.
    func onboard(to url: String, tenant: String = "cust_a", waba: String? = nil,
                 mode: String = "cloud_api") throws -> (connection: String, waba: String, phone: String) {
        let link = try self.link(["webhookOverrideUrl": url, "coexistence": mode != "cloud_api"], tenant: tenant)
        let signup = try meta.signup(mode: mode, wabaID: waba)
        try complete(link, code: signup["code"]!, waba: signup["wabaId"]!, phone: signup["phoneNumberId"]!,
                     event: mode == "cloud_api" ? "FINISH" : "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING")
        let session = try finished(link)
        guard let id = session["connectionId"] as? String else { throw SpawnError(message: "not onboarded: \(session)") }
        return (id, signup["wabaId"]!, signup["phoneNumberId"]!)
    }

    /// What the page posts after Embedded Signup.
    @discardableResult
    func complete(_ link: Link, code: String, waba: String, phone: String?, event: String = "FINISH") throws -> HTTPResult {
        var body = ["code": code, "wabaId": waba, "event": event]
        if let phone { body["phoneNumberId"] = phone }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try server.send("POST", "/onboard/\(link.token)/complete", json: json)
    }

    func session(_ link: Link) throws -> [String: Any] {
        try server.send("GET", "/api/v1/onboarding/sessions/\(link.sessionID)", key: key).json
    }

    /// Waits until the session has ended (watching the table, so the API's rate limit is left
    /// alone); returns it as the API shows it.
    func finished(_ link: Link, timeout: TimeInterval = 40) throws -> [String: Any] {
        eventually(timeout: timeout) {
            let status = try? db.with { try $0.sql("SELECT status FROM onboarding_sessions WHERE id = \(link.sessionID)").scalar(String.self) }
            return ["completed", "failed", "cancelled", "expired"].contains(status ?? "")
        }
        return try session(link)
    }

    func status(_ link: Link) throws -> [String: Any] {
        try server.send("GET", "/onboard/\(link.token)/status").json
    }

    /// A connection row, by column name.
    func connection(_ id: String) throws -> Row? {
        try db.with { try $0.sql("""
            SELECT status, connection_mode, waba_id, phone_number_id, webhook_override_url, access_token, registered,
                   webhook_verify_token, tenant_id, registration_pin
            FROM connections WHERE id = \(id)
            """).first }
    }

    /// `data` of each event of a type, oldest first, decoded.
    func events(_ type: String) throws -> [[String: Any]] {
        try db.with { try $0.sql("SELECT data::text FROM events WHERE type = \(type) ORDER BY created_at, id").rows }
            .map { (try JSONSerialization.jsonObject(with: Data(try $0.decode(String.self, at: 0).utf8))) as? [String: Any] ?? [:] }
    }
}
