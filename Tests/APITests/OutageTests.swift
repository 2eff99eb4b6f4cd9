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
}
