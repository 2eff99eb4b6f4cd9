import Foundation
import HTTPServer
import Postgres
import TestSupport
import Testing

/// A tenant endpoint on loopback that verifies like a customer's would: the challenge comes
/// back only for `hub.mode=subscribe` with the right verify token.
final class TenantEndpoint: @unchecked Sendable {
    // `@unchecked Sendable`: set once in init.
    let server: HTTPServer
    let port: UInt16

    init(expectedToken: String) throws {
        var lastError: Error?
        for _ in 0..<5 {
            let port = UInt16.random(in: 40_000...49_999)
            var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: port)
            configuration.threads = 2
            let server = HTTPServer(configuration: configuration, accessLog: false, tooLarge: { _ in Response(status: 413) }) { request in
                guard request.query["hub.mode"] == "subscribe", request.query["hub.verify_token"] == expectedToken,
                      let challenge = request.query["hub.challenge"] else { return .text(403, "forbidden") }
                return .text(200, challenge)
            }
            do {
                try server.start()
                self.server = server
                self.port = port
                return
            } catch { lastError = error }
        }
        throw lastError!
    }

    var url: String { "http://127.0.0.1:\(port)/whatsapp" }
}

@Suite(.serialized) struct WebhookCheckTests {
    @Test func theOverrideURLIsCheckedWithMetasHandshake() throws {
        let endpoint = try TenantEndpoint(expectedToken: "s3cret+/=")
        defer { endpoint.server.stop() }
        let f = try APIFixture(environment: ["DUALHOOK_ALLOW_PRIVATE_TARGETS": "1"])
        defer { f.close() }
        func create(token: String) throws -> String {
            let result = try f.server.send("POST", "/api/v1/onboarding/sessions", key: f.account.apiKey,
                                           json: sessionBody(["webhookOverrideUrl": endpoint.url, "webhookVerifyToken": token]))
            #expect(result.status == 201, "\(result.text)")
            return result.json["sessionId"] as! String
        }
        func check(_ id: String) -> String? {
            (try? f.server.send("GET", "/api/v1/onboarding/sessions/\(id)", key: f.account.apiKey))?.json["webhookCheck"] as? String
        }
        let good = try create(token: "s3cret+/=")
        let wrong = try create(token: "not-it")
        let worker = try DualhookProcess(["work", "--queues", "onboarding:2"], databaseURL: f.db.url,
                                         environment: ["DUALHOOK_ALLOW_PRIVATE_TARGETS": "1"], label: "onboarding-worker")
        #expect(eventually(timeout: 20) { check(good) == "passed" && check(wrong) == "failed" },
                "good: \(String(describing: check(good))), wrong: \(String(describing: check(wrong)))")
        worker.stop()

        // A worker that may not reach private targets refuses this plain-http loopback URL
        // outright (the address checks themselves are in HTTPClientTests).
        let guarded = try create(token: "s3cret+/=")
        let strict = try DualhookProcess(["work", "--queues", "onboarding:1"], databaseURL: f.db.url,
                                         environment: ["DUALHOOK_ALLOW_PRIVATE_TARGETS": ""], label: "strict-worker")
        defer { strict.stop() }
        #expect(eventually(timeout: 20) { check(guarded) == "failed" })
        #expect(strict.log.contains("webhook check failed") && strict.log.contains("http URLs are not allowed"))
        #expect(!strict.log.contains("s3cret"), "the verify token never reaches a log line")
    }
}
