import Dualhook
import Foundation
import TestSupport
import Testing

@Suite(.serialized) struct OpenAPITests {
    @Test func theDocumentDescribesExactlyTheRoutesThatExist() throws {
        let f = try APIFixture()
        defer { f.close() }
        let result = try f.server.send("GET", "/api/v1/openapi.json")
        #expect(result.status == 200)
        let document = result.json
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = document["paths"] as? [String: [String: Any]] ?? [:]
        let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
        let routed = Set(App.routeTable.map { "\($0.method) \($0.pattern)" })
        #expect(routed.subtracting(documented).isEmpty, "routes missing from the document: \(routed.subtracting(documented).sorted())")
        #expect(documented.subtracting(routed).isEmpty, "documented routes that do not exist: \(documented.subtracting(routed).sorted())")
        // Every $ref resolves.
        let schemas = ((document["components"] as? [String: Any])?["schemas"] as? [String: Any]) ?? [:]
        let refs = result.text.components(separatedBy: "\"$ref\":\"#/components/schemas/").dropFirst()
            .map { String($0.prefix { $0 != "\"" }) }
        #expect(!refs.isEmpty)
        for name in refs { #expect(schemas[name] != nil, "unresolved $ref \(name)") }
    }

    /// `dualhook openapi` prints what the server serves, so a user needs no running server
    /// (and no file outside the checkout) to read the contract.
    @Test func theCommandPrintsTheServedDocument() throws {
        let f = try APIFixture()
        defer { f.close() }
        let served = try f.server.send("GET", "/api/v1/openapi.json").text
        let out = try TestEnvironment.scratchDirectory("openapi").appendingPathComponent("openapi.json")
        let status = try spawnAndWait([TestEnvironment.binary.path, "openapi"], environment: [:], stdout: out.path)
        #expect(status == 0)
        let printed = try String(contentsOf: out, encoding: .utf8)
        #expect(printed == served + "\n")
        #expect(served.contains("\"/api/v1/onboarding/sessions\""))
    }
}
