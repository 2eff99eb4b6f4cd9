import Dualhook
import Foundation
import Postgres
import TestSupport
import Testing

/// The front while Postgres is down: 503 `unavailable` with Retry-After, readyz failing, and
/// both back by themselves when Postgres returns.
@Suite(.serialized) struct OutageTests {
    @Test func aDatabaseOutageAnswers503AndRecoversByItself() throws {
        let cluster = try PrivateCluster()
        defer { cluster.stop() }
        let setup = try Connection.connect(cluster.url)
        try Migrator(directory: TestEnvironment.migrationsDirectory).migrate(setup)
        let account = try AccountStore.create(name: "Acme", displayName: nil, logoURL: nil, eventURL: nil,
                                              redirectOrigins: [], vault: TestEnvironment.vault, on: setup)
        setup.close()
        let server = try APIServer(databaseURL: cluster.url)
        defer { server.stop() }
        #expect(try server.send("POST", "/api/v1/onboarding/sessions", key: account.apiKey, json: sessionBody()).status == 201)

        try cluster.kill()
        let down = try server.send("POST", "/api/v1/onboarding/sessions", key: account.apiKey, json: sessionBody())
        #expect(down.status == 503 && down.errorCode == "unavailable")
        #expect(down.header("Retry-After") == "5")
        #expect(try server.send("GET", "/readyz").status == 503)
        #expect(try server.send("GET", "/healthz").status == 200, "the process itself is fine")

        try cluster.start()
        #expect(eventually(timeout: 20) { (try? server.send("GET", "/readyz").status) == 200 })
        let back = try server.send("POST", "/api/v1/onboarding/sessions", key: account.apiKey, json: sessionBody())
        #expect(back.status == 201)
        #expect(server.process.isRunning)
    }

    /// A change Meta sends while the database is down is answered 503 and written nowhere;
    /// Meta delivers it again until it is answered 200, so it arrives once Postgres is back,
    /// once.
    @Test func aChangeMetaSendsDuringAnOutageArrivesWhenMetaDeliversItAgain() throws {
        let cluster = try PrivateCluster()
        defer { cluster.stop() }
        let setup = try Connection.connect(cluster.url)
        try Migrator(directory: TestEnvironment.migrationsDirectory).migrate(setup)
        setup.close()
        let meta = try FakeMetaProcess()
        defer { meta.stop() }
        let server = try APIServer(databaseURL: cluster.url, environment: meta.environment)
        defer { server.stop() }
        try meta.post("/_fake/app", #"{"callbackUrl":"\#(server.baseURL)/meta/webhook"}"#)
        let waba = try #require(try meta.signup()["wabaId"])
        func recorded() -> Int? {
            try? Connection.connect(cluster.url).sql("SELECT count(*) FROM management_changes WHERE waba_id = \(waba)").scalar(Int.self)
        }
        // Meta's own notice of the finished signup (PARTNER_APP_INSTALLED) lands first.
        #expect(eventually(timeout: 20) { recorded() == 1 })

        try cluster.kill()
        let sent = try meta.post("/_fake/emit", #"{"wabaId":"\#(waba)","field":"account_update","value":{"event":"PARTNER_APP_INSTALLED","waba_info":{"waba_id":"\#(waba)","owner_business_id":"4455","partner_app_id":"1234567890"}}}"#)
        #expect(sent["status"] as? Int == 503 && sent["redelivering"] as? Bool == true, "\(sent)")
        try cluster.start()
        #expect(eventually(timeout: 90) { recorded() == 2 }, "delivered again and recorded")
        #expect(eventually(timeout: 10) { (try? meta.state()["redeliveriesPending"] as? Int) == 0 }, "Meta stops once answered 200")
        #expect(recorded() == 2)
    }
}
