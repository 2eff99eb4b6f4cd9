import Foundation

/// The real `dualhook fake-meta` on a free loopback port.
public final class FakeMetaProcess: @unchecked Sendable {
    // `@unchecked Sendable`: set once in init.
    public let process: DualhookProcess
    public let port: Int
    public var base: String { "http://127.0.0.1:\(port)" }

    public init() throws {
        for _ in 0..<5 {
            let port = Int.random(in: 60_000...64_999)
            let process = try DualhookProcess(["fake-meta", "--listen", "127.0.0.1:\(port)"], databaseURL: "", label: "fake-meta-\(port)")
            if eventually(timeout: 10, { process.log.contains("listening") || !process.isRunning }), process.isRunning {
                self.process = process
                self.port = port
                return
            }
            process.stop()
        }
        throw SpawnError(message: "fake-meta did not start")
    }

    public func stop() { process.stop() }

    @discardableResult
    public func post(_ path: String, _ json: String) throws -> [String: Any] {
        try HTTPResult.send("POST", base + path, headers: ["Content-Type": "application/json"], body: Data(json.utf8)).json
    }

    /// What `/_fake/signup` gives: code, wabaId, phoneNumberId, businessId.
    public func signup(mode: String = "cloud_api", wabaID: String? = nil) throws -> [String: String] {
        var body: [String: String] = ["mode": mode]
        if let wabaID { body["wabaId"] = wabaID }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try post("/_fake/signup", json).compactMapValues { $0 as? String }
    }

    /// `/_fake/signup` with any of its fields (`finish`, `verified`, `tokenExpiresIn`, …).
    public func signup(_ body: [String: Any]) throws -> [String: String] {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try post("/_fake/signup", json).compactMapValues { $0 as? String }
    }

    /// Makes the next `times` calls whose "METHOD /path" starts with `match` fail that way.
    /// One of the fake's canned Meta errors (`waba_rate_limit`, `app_rate_limit`) with its headers.
    public func fault(_ match: String, preset: String, times: Int = 1, regainMinutes: Int = 0) throws {
        try post("/_fake/faults", #"{"match":"\#(match)","preset":"\#(preset)","times":\#(times),"regainMinutes":\#(regainMinutes)}"#)
    }

    public func fault(_ match: String, status: Int, body: String? = nil, times: Int = 1) throws {
        try post("/_fake/faults", #"{"match":"\#(match)","status":\#(status),"times":\#(times)\#(body.map { ",\"body\":\($0)" } ?? "")}"#)
    }

    public func state() throws -> [String: Any] { try HTTPResult.send("GET", base + "/_fake/state").json }

    /// One WABA as `/_fake/state` shows it.
    public func waba(_ id: String) throws -> [String: Any]? {
        (try state()["wabas"] as? [String: [String: Any]])?[id]
    }

    /// One number of a WABA as `/_fake/state` shows it.
    public func phone(_ id: String, waba: String) throws -> [String: Any]? {
        let phones = try self.waba(waba)?["phones"] as? [[String: Any]] ?? []
        return phones.first { $0["id"] as? String == id }
    }

    /// The environment a `dualhook` process needs to talk to this simulator.
    public var environment: [String: String] {
        ["META_GRAPH_URL": base, "META_SDK_URL": base + "/en_US/sdk.js", "DUALHOOK_ALLOW_PRIVATE_TARGETS": "1"]
    }
}
