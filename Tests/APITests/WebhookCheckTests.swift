import Foundation
import Postgres
import TestSupport
import Testing

@Suite(.serialized) struct WebhookCheckTests {
    @Test func theOverrideURLIsCheckedWithMetasHandshake() throws {
        let endpoint = try LoopbackServer.handshakeReceiver(token: "s3cret+/=")
        defer { endpoint.stop() }
        let f = try APIFixture(environment: ["DUALHOOK_ALLOW_PRIVATE_TARGETS": "1"])
        defer { f.close() }
        func create(token: String) throws -> String {
            let result = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                           json: sessionBody(["webhookOverrideUrl": endpoint.base + "/whatsapp", "webhookVerifyToken": token]))
            #expect(result.status == 201, "\(result.text)")
            return result.json["sessionId"] as! String
        }
        func check(_ id: String) -> String? {
            (try? f.server.send("GET", "/api/v1/onboarding/sessions/\(id)", key: f.account.apiKey))?.json["webhookCheck"] as? String
        }
        let good = try create(token: "s3cret+/=")
        let wrong = try create(token: "not-it")
        let worker = try DualhookProcess(["work", "--queues", "meta:2"], databaseURL: f.db.url,
                                         environment: ["DUALHOOK_ALLOW_PRIVATE_TARGETS": "1"], label: "onboarding-worker")
        #expect(eventually(timeout: 20) { check(good) == "passed" && check(wrong) == "failed" },
                "good: \(String(describing: check(good))), wrong: \(String(describing: check(wrong)))")
        func session(_ id: String) throws -> [String: Any] {
            try f.server.send("GET", "/api/v1/onboarding/sessions/\(id)", key: f.account.apiKey).json
        }
        #expect(try session(good)["webhookCheckError"] is NSNull)
        let refusal = try session(wrong)["webhookCheckError"] as? String
        #expect(refusal?.hasPrefix("answered HTTP") == true && refusal?.contains("not-it") == false, "\(String(describing: refusal))")
        let told = try f.db.with {
            try $0.sql("SELECT data->>'webhookCheckError' FROM events WHERE type = 'onboarding.webhook_check_failed' AND data->>'sessionId' = \(wrong)").rows.map { try $0.decode(String.self, at: 0) }
        }
        #expect(told == [refusal ?? "?"], "the account is told, with the reason")
        worker.stop()

        // A worker that may not reach private targets refuses this plain-http loopback URL
        // outright (the address checks themselves are in HTTPClientTests).
        let guarded = try create(token: "s3cret+/=")
        let strict = try DualhookProcess(["work", "--queues", "meta:1"], databaseURL: f.db.url,
                                         environment: ["DUALHOOK_ALLOW_PRIVATE_TARGETS": ""], label: "strict-worker")
        defer { strict.stop() }
        #expect(eventually(timeout: 20) { check(guarded) == "failed" })
        let blocked = try f.server.send("GET", "/api/v1/onboarding/sessions/\(guarded)", key: f.account.apiKey).json["webhookCheckError"] as? String
        #expect(blocked?.contains("http URLs are not allowed") == true, "\(String(describing: blocked))")
        #expect(strict.log.contains("webhook check failed") && strict.log.contains("http URLs are not allowed"))
        #expect(!strict.log.contains("s3cret"), "the verify token never reaches a log line")
    }

    /// The check asks as Meta asks and accepts what Meta accepts: a challenge that is an
    /// integer (receivers written to Meta's samples read it as one), echoed as the whole body.
    @Test func theCheckSendsAnIntegerChallengeAndWantsItBackExactly() throws {
        // Reads the challenge as a number, as Meta's sample receivers do, and echoes the number.
        let numeric = try LoopbackServer { request in
            guard request.query["hub.verify_token"] == "tok", let value = request.query["hub.challenge"].flatMap({ Int($0) }) else {
                return .text(400, "hub.challenge is not a number")
            }
            return .text(200, String(value))
        }
        // Echoes it with a line break after it.
        let padded = try LoopbackServer { request in .text(200, (request.query["hub.challenge"] ?? "") + "\n") }
        defer { numeric.stop(); padded.stop() }
        let f = try APIFixture(environment: ["DUALHOOK_ALLOW_PRIVATE_TARGETS": "1"])
        defer { f.close() }
        func create(_ url: String) throws -> String {
            let result = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                           json: sessionBody(["webhookOverrideUrl": url, "webhookVerifyToken": "tok"]))
            #expect(result.status == 201, "\(result.text)")
            return result.json["sessionId"] as! String
        }
        func session(_ id: String) -> [String: Any] {
            (try? f.server.send("GET", "/api/v1/onboarding/sessions/\(id)", key: f.account.apiKey))?.json ?? [:]
        }
        let good = try create(numeric.base + "/hook"), bad = try create(padded.base + "/hook")
        let worker = try DualhookProcess(["work", "--queues", "meta:2"], databaseURL: f.db.url,
                                         environment: ["DUALHOOK_ALLOW_PRIVATE_TARGETS": "1"], label: "check-worker")
        defer { worker.stop() }
        #expect(eventually(timeout: 20) {
            session(good)["webhookCheck"] as? String == "passed" && session(bad)["webhookCheck"] as? String == "failed"
        }, "numeric: \(session(good)), padded: \(session(bad))")
        #expect(session(bad)["webhookCheckError"] as? String == "answered HTTP 200 without echoing hub.challenge")
    }
}
