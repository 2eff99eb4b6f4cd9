import Foundation
import HTTPServer
import Synchronization
import TestSupport

/// An account's event endpoint on loopback: records every request and answers as told.
final class EventReceiver: Sendable {
    struct Received: Sendable {
        let headers: [String: String]
        let body: Data
        let at: Date
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var eventID: String { json["id"] as? String ?? "" }
    }

    let received = Mutex<[Received]>([])
    /// Given the number of requests before this one and the request, the answer.
    let answer: Mutex<@Sendable (Int, Received) -> Response>
    let server: Mutex<LoopbackServer?> = Mutex(nil)
    let port: UInt16

    convenience init(threads: Int = 4, answer: @escaping @Sendable (Int) -> Response = { _ in .text(200, "ok") }) throws {
        try self.init(threads: threads, answering: { count, _ in answer(count) })
    }

    init(threads: Int = 4, answering answer: @escaping @Sendable (Int, Received) -> Response) throws {
        self.answer = Mutex(answer)
        let holder = Mutex<(@Sendable (Request) -> Response)?>(nil)
        let started = try LoopbackServer(threads: threads) { request in holder.withLock { $0 }!(request) }
        port = started.port
        server.withLock { $0 = started }
        holder.withLock { $0 = { [unowned self] request in self.handle(request) } }
    }

    var url: String { "http://127.0.0.1:\(port)/events" }

    func handle(_ request: Request) -> Response {
        // Meta's verification handshake, for receivers that stand in for a tenant endpoint.
        if request.method == "GET", request.query["hub.mode"] == "subscribe", let challenge = request.query["hub.challenge"] {
            return .text(200, challenge)
        }
        let this = Received(headers: request.headers, body: request.body, at: Date())
        let count = received.withLock { list -> Int in
            list.append(this)
            return list.count - 1
        }
        return answer.withLock { $0 }(count, this)
    }

    var requests: [Received] { received.withLock { $0 } }

    /// The forwards of Meta's changes of `field` (`X-Dualhook-Event`), without the others Meta
    /// sends meanwhile: each finished signup's `account_update`, say.
    func forwards(_ field: String) -> [Received] { requests.filter { $0.headers["x-dualhook-event"] == field } }

    func stop() { server.withLock { $0?.stop(); $0 = nil } }

    /// Listens again on the same port (after `stop`), as an endpoint coming back up.
    func restart(threads: Int = 4) throws {
        let started = try LoopbackServer(threads: threads, port: port) { [unowned self] request in self.handle(request) }
        server.withLock { $0 = started }
    }
}

/// HMAC-SHA256 computed by the `openssl` command, so the tests check signatures against the
/// spec with code that is not the project's.
enum OpenSSL {
    static func hmacSHA256(key: Data, message: Data) throws -> Data {
        let hexKey = key.map { String(format: "%02x", $0) }.joined()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["dgst", "-sha256", "-mac", "HMAC", "-macopt", "hexkey:\(hexKey)", "-binary"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(message)
        try input.fileHandleForWriting.close()
        let digest = output.fileHandleForReading.readDataToEndOfFile()
        while process.isRunning { Thread.sleep(forTimeInterval: 0.005) }
        return digest
    }

    /// `X-Dualhook-Signature: t=…,v1=…`: does any v1 match HMAC(secret, "<t>.<body>")?
    static func verifiesDualhook(header: String, body: Data, secret: String) throws -> Bool {
        let parts = header.split(separator: ",").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
        guard let t = parts.first(where: { $0.first == "t" })?.last else { return false }
        let expected = try hmacSHA256(key: Data(secret.utf8), message: Data("\(t).".utf8) + body)
            .map { String(format: "%02x", $0) }.joined()
        return parts.contains { $0.first == "v1" && $0.last == expected }
    }

    /// Standard Webhooks: `webhook-signature: v1,<base64>` over "<id>.<timestamp>.<body>", keyed
    /// with the base64 after `whsec_`.
    static func verifiesStandard(signature: String, id: String, timestamp: String, body: Data, secret: String) throws -> Bool {
        guard let key = Data(base64Encoded: String(secret.dropFirst("whsec_".count))) else { return false }
        let expected = try hmacSHA256(key: key, message: Data("\(id).\(timestamp).".utf8) + body).base64EncodedString()
        return signature.split(separator: " ").contains { $0 == "v1,\(expected)" }
    }
}

extension OpenSSL {
    /// `X-Hub-Signature-256: sha256=<hex>` as Meta webhook libraries (pywa, the Node and PHP
    /// SDKs) check it: HMAC-SHA256 keyed with the secret string, over the raw body.
    static func verifiesMeta(header: String, body: Data, secret: String) throws -> Bool {
        guard header.hasPrefix("sha256=") else { return false }
        let expected = try hmacSHA256(key: Data(secret.utf8), message: body).map { String(format: "%02x", $0) }.joined()
        return String(header.dropFirst(7)) == expected
    }
}
