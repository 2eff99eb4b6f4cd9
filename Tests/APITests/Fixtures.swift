import Dualhook
import Foundation
import Postgres
import TestSupport

/// A migrated database, one `dualhook serve`, and an account with its key.
final class APIFixture: @unchecked Sendable {
    // `@unchecked Sendable`: set once in init.
    let db: TestDatabase
    let server: APIServer
    let account: AccountStore.Created

    init(environment: [String: String] = [:]) throws {
        db = try TestDatabase(label: "api")
        server = try APIServer(databaseURL: db.url, environment: environment)
        account = try db.with { try AccountStore.create(name: "Acme", displayName: "Acme Health", logoURL: nil, eventURL: nil,
                                                         redirectOrigins: ["https://app.example.com"], vault: TestEnvironment.vault, on: $0) }
    }

    func anotherAccount() throws -> AccountStore.Created {
        try db.with { try AccountStore.create(name: "Other", displayName: nil, logoURL: nil, eventURL: nil, redirectOrigins: [], vault: TestEnvironment.vault, on: $0) }
    }

    func close() {
        server.stop()
        db.drop()
    }

    func count(_ table: String) throws -> Int {
        try db.with { try $0.sql("SELECT count(*) FROM \(unescaped: table)").scalar(Int.self) ?? -1 }
    }
}

/// A valid session body, with fields replaced or removed by the caller.
func sessionBody(_ changes: [String: Any?] = [:], tenant: String = "cust_42") -> String {
    var fields: [String: Any] = [
        "tenantId": tenant, "tenantName": "Clinic 42",
        "successRedirectUrl": "https://app.example.com/done", "failureRedirectUrl": "https://app.example.com/error",
        "cancelRedirectUrl": "https://app.example.com/cancel",
        "webhookOverrideUrl": "https://api.example.com/whatsapp", "webhookVerifyToken": "s3cret",
        "metadata": ["plan": "pro"], "coexistence": false, "expiresInSeconds": 3600,
    ]
    for (key, value) in changes { fields[key] = value ?? nil }
    for (key, value) in changes where value == nil { fields.removeValue(forKey: key) }
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}
