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

    /// Every operation, field, error code and event type has words, and `/docs` shows them.
    @Test func everythingIsDescribedAndTheReferencePageShowsIt() throws {
        let f = try APIFixture()
        defer { f.close() }
        let document = try f.server.send("GET", "/api/v1/openapi.json").json
        var undescribed: [String] = []
        var operationIDs: [String] = []
        for (path, operations) in document["paths"] as? [String: [String: Any]] ?? [:] {
            for (method, value) in operations {
                let op = value as? [String: Any] ?? [:]
                operationIDs.append(op["operationId"] as? String ?? "?")
                if (op["description"] as? String ?? "").isEmpty { undescribed.append("\(method) \(path)") }
                for (status, response) in op["responses"] as? [String: Any] ?? [:] {
                    let text = (response as? [String: Any])?["description"] as? String ?? ""
                    if text.isEmpty || text == "An error" { undescribed.append("\(method) \(path) \(status)") }
                }
                for parameter in op["parameters"] as? [[String: Any]] ?? [] where parameter["description"] == nil {
                    undescribed.append("\(method) \(path) ?\(parameter["name"] ?? "")")
                }
            }
        }
        func walk(_ name: String, _ schema: Any?) {
            guard let schema = schema as? [String: Any] else { return }
            for (field, value) in schema["properties"] as? [String: Any] ?? [:] {
                let property = value as? [String: Any] ?? [:]
                if property["$ref"] == nil && property["description"] == nil { undescribed.append("\(name).\(field)") }
                walk("\(name).\(field)", property)
            }
            walk(name + "[]", schema["items"])
        }
        let schemas = ((document["components"] as? [String: Any])?["schemas"] as? [String: Any]) ?? [:]
        for (name, schema) in schemas { walk(name, schema) }
        #expect(undescribed.isEmpty, "undescribed: \(undescribed.sorted())")
        // A name that means something else in one schema has that schema's words there.
        func description(_ path: String) -> String? {
            var node: Any? = schemas
            for step in path.split(separator: ".") {
                let name = step.hasSuffix("[]") ? String(step.dropLast(2)) : String(step)
                let object = node as? [String: Any]
                node = (object?["properties"] as? [String: Any] ?? object)?[name]
                if step.hasSuffix("[]") { node = (node as? [String: Any])?["items"] }
            }
            return (node as? [String: Any])?["description"] as? String
        }
        #expect(description("OnboardingComplete.code") == "Meta's OAuth code from the SDK's callback.")
        #expect(description("Error.error.code")?.contains("error code") == true)
        #expect(description("Health.issues[].code") == "Meta's code for the issue.")
        #expect(description("Connection.health.issues[].code") == "Meta's code for the issue.")
        #expect(description("Health.issues[].description") == "Meta's description.")
        #expect(description("EventEndpointCreate.description")?.contains("Meta") == false)
        #expect(description("EventEndpoint.url")?.contains("delivered") == true)
        #expect(description("Event.attempts[].url") == "Where it was sent.")
        #expect(description("Usage.connections")?.contains("tenant") == false)
        #expect(description("EventPage.data")?.contains("page") == true)
        #expect(description("Event.data")?.contains("payload") == true)
        // Both answer 409 for a connection that is not active (API.md: reveal answers 409).
        let paths = document["paths"] as? [String: [String: Any]] ?? [:]
        for (path, method) in [("/api/v1/connections/{id}/reveal-secrets", "post"), ("/api/v1/connections/{id}", "patch")] {
            let responses = (paths[path]?[method] as? [String: Any])?["responses"] as? [String: Any]
            #expect(responses?["409"] != nil, "\(method) \(path) lists 409")
        }
        let errorText = (schemas["Error"] as? [String: Any])?["description"] as? String ?? ""
        for code in ["unauthorized", "validation_failed", "invalid_json", "rate_limited", "idempotency_key_reused", "session_expired",
                     "conflict", "unavailable"] {
            #expect(errorText.contains("`\(code)`"), "error code \(code) is described")
        }
        let webhooks = document["webhooks"] as? [String: Any] ?? [:]
        let types = try f.server.send("GET", "/api/v1/events?type=nope", key: f.account.apiKey).text
        #expect(webhooks.count >= 14 && webhooks["onboarding.webhook_check_failed"] != nil && types.contains("onboarding.started"))

        let page = try f.server.send("GET", "/docs")
        #expect(page.status == 200 && page.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(page.header("Content-Security-Policy")?.contains("default-src 'none'") == true)
        let html = page.text
        for id in operationIDs { #expect(html.contains("id=\"\(id)\""), "\(id) on the page") }
        for type in webhooks.keys { #expect(html.contains("id=\"event-\(type)\"")) }
        #expect(html.contains("idempotency_key_in_use") && html.contains("webhookCheckError"))
        // No external asset: nothing is loaded from anywhere, and no script at all.
        #expect(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("<link rel=\"stylesheet"))
    }
}
