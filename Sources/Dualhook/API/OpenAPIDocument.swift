import Foundation

/// The OpenAPI 3.1 description of every route, served at `GET /api/v1/openapi.json`. A test
/// compares its paths with the router's, so a route cannot exist without being described.
public enum OpenAPIDocument {
    public static let json: Data = {
        var document: [String: Any] = [
            "openapi": "3.1.0",
            "info": ["title": "Dualhook", "version": "1.0.0",
                     "description": "Multi-tenant WhatsApp Business onboarding: sessions, the onboarding link, connections and tenants, events, Meta's callback, accounts, operations."],
            "servers": [["url": "/"]],
            "security": [["bearer": [String]()]],
            "components": components,
            "paths": paths,
            "webhooks": webhooks,
        ]
        describe(&document)
        return (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }()

    static func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }

    static func jsonContent(_ schema: [String: Any]) -> [String: Any] { ["application/json": ["schema": schema]] }

    static func response(_ description: String, _ schema: [String: Any]? = nil, headers: [String] = []) -> [String: Any] {
        var r: [String: Any] = ["description": description]
        if let schema { r["content"] = jsonContent(schema) }
        if !headers.isEmpty {
            r["headers"] = Dictionary(uniqueKeysWithValues: headers.map { ($0, ["schema": ["type": "string"]]) })
        }
        return r
    }

    static var errorResponse: [String: Any] { response("An error", ref("Error"), headers: ["Request-Id"]) }
    static let rateHeaders = ["Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]

    /// An authenticated operation with the error answers every such route can give.
    static func operation(_ id: String, _ summary: String, ok: (String, [String: Any]), body: [String: Any]? = nil,
                          parameters: [[String: Any]] = [], idempotent: Bool = false, isPublic: Bool = false) -> [String: Any] {
        var responses: [String: Any] = [ok.0: response(summary, ok.1, headers: isPublic ? ["Request-Id"] : rateHeaders)]
        for code in isPublic ? ["503"] : ["400", "401", "404", "413", "429", "500", "503"] { responses[code] = errorResponse }
        if body != nil { responses["415"] = errorResponse }
        if idempotent {
            responses["409"] = errorResponse
            responses["422"] = errorResponse
        }
        var op: [String: Any] = ["operationId": id, "summary": summary, "responses": responses]
        var params = parameters
        if idempotent {
            params.append(["name": "Idempotency-Key", "in": "header", "required": false,
                           "schema": ["type": "string", "minLength": 1, "maxLength": 255]])
        }
        if !params.isEmpty { op["parameters"] = params }
        if let body { op["requestBody"] = ["required": true, "content": jsonContent(body)] }
        if isPublic { op["security"] = [[String: Any]]() }
        return op
    }

    /// A body that is optional and, when sent, the empty object.
    static var emptyObject: [String: Any] { ["type": "object", "additionalProperties": false, "properties": [String: Any]()] }

    /// An operation whose body may be left out.
    static func optionalBody(_ operation: [String: Any]) -> [String: Any] {
        var op = conflict(operation)
        if var body = op["requestBody"] as? [String: Any] {
            body["required"] = false
            op["requestBody"] = body
        }
        return op
    }

    /// An operation that answers 409 `conflict` (a disabled endpoint, a limit reached).
    static func conflict(_ operation: [String: Any]) -> [String: Any] {
        var op = operation
        var responses = op["responses"] as! [String: Any]
        responses["409"] = errorResponse
        op["responses"] = responses
        return op
    }

    /// A session action: an optional empty body, and 410 for an expired session.
    static func sessionAction(_ operation: [String: Any]) -> [String: Any] {
        var op = operation
        op["requestBody"] = ["required": false, "content": jsonContent(emptyObject)]
        var responses = op["responses"] as! [String: Any]
        responses["410"] = errorResponse
        responses["415"] = errorResponse
        op["responses"] = responses
        return op
    }

    static var tokenParameter: [String: Any] { ["name": "token", "in": "path", "required": true, "schema": ["type": "string"]] }

    /// A public onboarding call: the link's token is the credential.
    static func publicOperation(_ id: String, _ summary: String, ok: (String, [String: Any]), body: [String: Any]? = nil) -> [String: Any] {
        var responses: [String: Any] = [ok.0: response(summary, ok.1, headers: ["Request-Id"])]
        for code in ["400", "404", "409", "410", "413", "415", "500", "503"] { responses[code] = errorResponse }
        var op: [String: Any] = ["operationId": id, "summary": summary, "responses": responses, "security": [[String: Any]](),
                                 "parameters": [tokenParameter]]
        if let body { op["requestBody"] = ["required": body.isEmpty == false, "content": jsonContent(body)] }
        return op
    }

    static func query(_ name: String, _ schema: [String: Any]) -> [String: Any] {
        ["name": name, "in": "query", "required": false, "schema": schema]
    }

    static var pageParameters: [[String: Any]] {
        [query("limit", ["type": "integer", "minimum": 1, "maximum": 100]), query("cursor", ["type": "string"])]
    }

    static let sessionStatuses = ["created", "opened", "exchanging", "awaiting_number", "completed", "failed", "cancelled", "expired"]

    static var paths: [String: Any] { [
        "/healthz": ["get": operation("health", "The process is up", ok: ("200", ["type": "object"]), isPublic: true)],
        "/readyz": ["get": operation("ready", "The database answers", ok: ("200", ["type": "object"]), isPublic: true)],
        "/metrics": ["get": ["operationId": "metrics", "summary": "Prometheus metrics", "security": [["metricsToken": [String]()]],
                             "responses": ["200": ["description": "Prometheus text",
                                                   "content": ["text/plain": ["schema": ["type": "string"]]]],
                                           "401": errorResponse, "404": errorResponse]]],
        "/docs": ["get": ["operationId": "reference", "summary": "This document as a readable page", "security": [[String: Any]](),
                          "responses": ["200": ["description": "HTML", "content": ["text/html": ["schema": ["type": "string"]]]]]]],
        "/api/v1/openapi.json": ["get": ["operationId": "openapi", "summary": "This document", "security": [[String: Any]](),
                                         "responses": ["200": response("OpenAPI 3.1", ["type": "object"])]]],
        "/api/v1/usage": [
            "get": operation("getUsage", "The account's connection-day ledger and estimated amount for a month", ok: ("200", ref("Usage")),
                             parameters: [query("period", ["type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"])]),
        ],
        "/api/v1/account": [
            "get": operation("getAccount", "The calling account", ok: ("200", ref("Account"))),
            "patch": operation("updateAccount", "Change the account's settings", ok: ("200", ref("Account")),
                               body: ref("AccountUpdate")),
        ],
        "/api/v1/account/signing-secret/rotate": [
            "post": operation("rotateSigningSecret", "A new event signing secret; the old one signs for 24 h more",
                              ok: ("200", ref("RotatedSecret")), idempotent: true),
        ],
        "/api/v1/onboarding/sessions": [
            "post": {
                var op = operation("createSession", "Create an onboarding session", ok: ("201", ref("SessionCreated")),
                                   body: ref("SessionCreate"), idempotent: true)
                op["responses"] = (op["responses"] as! [String: Any]).merging(["402": errorResponse]) { _, new in new }
                return op
            }(),
            "get": operation("listSessions", "List onboarding sessions", ok: ("200", ref("SessionPage")),
                             parameters: pageParameters + [query("tenantId", ["type": "string"]),
                                                           query("status", ["type": "string", "enum": sessionStatuses]),
                                                           query("since", ["type": "string", "format": "date-time"])]),
        ],
        "/onboard/{token}": ["get": ["operationId": "onboardingPage", "summary": "The co-branded onboarding page",
                                     "security": [[String: Any]](), "parameters": [tokenParameter],
                                     "responses": ["200": ["description": "HTML", "content": ["text/html": ["schema": ["type": "string"]]]],
                                                   "404": ["description": "Unknown link (HTML)"],
                                                   "410": ["description": "Expired or used link (HTML)"]]]],
        "/onboard/{token}/open": ["post": {
            var op = publicOperation("openOnboarding", "The page's script reports that a person opened the link",
                                     ok: ("204", [:]), body: emptyObject)
            op["responses"] = (op["responses"] as! [String: Any]).merging(["204": ["description": "Counted"]]) { _, new in new }
            op["requestBody"] = ["required": false, "content": jsonContent(emptyObject)]
            return op
        }()],
        "/onboard/{token}/recheck": ["post": {
            var op = publicOperation("recheckOnboardingWebhook", "The person pressed Connect while the webhook check stood failed: check again",
                                     ok: ("202", ref("WebhookCheckState")), body: emptyObject)
            var responses = op["responses"] as! [String: Any]
            responses["200"] = response("The check is not failed; nothing to do", ref("WebhookCheckState"), headers: ["Request-Id"])
            op["responses"] = responses
            op["requestBody"] = ["required": false, "content": jsonContent(emptyObject)]
            return op
        }()],
        "/onboard/{token}/complete": ["post": publicOperation("completeOnboarding", "The browser reports a finished Embedded Signup",
                                                             ok: ("202", ["type": "object"]), body: ref("OnboardingComplete"))],
        "/onboard/{token}/cancel": ["post": publicOperation("cancelOnboarding", "The browser reports a cancelled Embedded Signup",
                                                           ok: ("200", ["type": "object"]), body: ref("OnboardingCancel"))],
        "/onboard/{token}/status": ["get": publicOperation("onboardingStatus", "Where the session stands, and where to go",
                                                          ok: ("200", ref("OnboardingStatus")))],
        "/api/v1/onboarding/sessions/{id}/cancel": ["post": sessionAction(
            operation("cancelSession", "Cancel a session: its link stops working, for good", ok: ("200", ref("Session")),
                      parameters: [idParameter], idempotent: true))],
        "/api/v1/onboarding/sessions/{id}/link": ["post": sessionAction(
            operation("renewSessionLink", "A fresh one-time link for an unfinished session; the old one answers 410",
                      ok: ("201", ref("SessionLink")), parameters: [idParameter], idempotent: true))],
        "/api/v1/onboarding/sessions/{id}": [
            "get": operation("getSession", "One onboarding session", ok: ("200", ref("Session")), parameters: [idParameter]),
        ],
        "/api/v1/events": [
            "get": operation("listEvents", "Lifecycle events sent to the account, newest first", ok: ("200", ref("EventPage")),
                             parameters: pageParameters + [query("type", ["type": "string", "enum": EventRoutes.types]),
                                                           query("since", ["type": "string", "format": "date-time"]),
                                                           query("until", ["type": "string", "format": "date-time"]),
                                                           query("deliveryStatus", ["type": "string", "enum": EventRoutes.deliveryStatuses]),
                                                           query("tenantId", ["type": "string", "minLength": 1, "maxLength": 128]),
                                                           query("endpointId", ["type": "string", "minLength": 1, "maxLength": 64])]),
        ],
        "/api/v1/events/{id}": [
            "get": operation("getEvent", "One event with every delivery attempt", ok: ("200", ref("Event")), parameters: [idParameter]),
        ],
        "/api/v1/events/{id}/redeliver": [
            "post": optionalBody(operation("redeliverEvent", "Deliver the event again now", ok: ("202", ref("Redelivery")),
                                           body: ref("RedeliverRequest"), parameters: [idParameter], idempotent: true)),
        ],
        "/api/v1/event-endpoints": [
            "get": operation("listEventEndpoints", "The account's event endpoints, newest first", ok: ("200", ref("EventEndpointPage")),
                             parameters: pageParameters),
            "post": operation("createEventEndpoint", "A new event endpoint; its secret is answered this once",
                              ok: ("201", ref("EventEndpointWithSecret")), body: ref("EventEndpointCreate"), idempotent: true),
        ],
        "/api/v1/event-endpoints/{id}": [
            "get": operation("getEventEndpoint", "One event endpoint (never its secret)", ok: ("200", ref("EventEndpoint")),
                             parameters: [idParameter]),
            "patch": operation("updateEventEndpoint", "Change an event endpoint's URL, description, filters, rate limit or status",
                               ok: ("200", ref("EventEndpoint")), body: ref("EventEndpointUpdate"), parameters: [idParameter]),
            "delete": operation("deleteEventEndpoint", "Delete an event endpoint and its undelivered events for it",
                                ok: ("200", ref("EventEndpointDeleted")), parameters: [idParameter]),
        ],
        "/api/v1/event-endpoints/{id}/rotate-secret": [
            "post": optionalBody(operation("rotateEventEndpointSecret", "A new secret; the ones before sign for the overlap chosen",
                                           ok: ("200", ref("EventEndpointWithSecret")), body: ref("EventEndpointRotate"),
                                           parameters: [idParameter], idempotent: true)),
        ],
        "/api/v1/event-endpoints/{id}/enable": [
            "post": optionalBody(operation("enableEventEndpoint", "Enable a disabled endpoint; its held events go out in order",
                                           ok: ("200", ref("EventEndpoint")), body: emptyObject, parameters: [idParameter], idempotent: true)),
        ],
        "/api/v1/event-endpoints/{id}/disable": [
            "post": optionalBody(operation("disableEventEndpoint", "Pause an endpoint; its events are held until it is enabled",
                                           ok: ("200", ref("EventEndpoint")), body: emptyObject, parameters: [idParameter], idempotent: true)),
        ],
        "/api/v1/event-endpoints/{id}/test": [
            "post": conflict(optionalBody(operation("testEventEndpoint", "Send the endpoint a test event now",
                                                    ok: ("202", ref("EndpointTest")), body: emptyObject, parameters: [idParameter],
                                                    idempotent: true))),
        ],
        "/api/v1/event-endpoints/{id}/recover": [
            "post": conflict(operation("recoverEventEndpoint", "Deliver a time range's events to the endpoint again",
                                       ok: ("202", ref("Recovery")), body: ref("EventEndpointRecover"), parameters: [idParameter],
                                       idempotent: true)),
        ],
        "/api/v1/connections": [
            "get": operation("listConnections", "The account's connections, newest first", ok: ("200", ref("ConnectionPage")),
                             parameters: pageParameters + [query("tenantId", ["type": "string"]), query("wabaId", ["type": "string"]),
                                                           query("phoneNumberId", ["type": "string"]),
                                                           query("status", ["type": "string", "enum": ConnectionStatus.allCases.map(\.rawValue)])]),
        ],
        "/api/v1/connections/{id}": [
            "get": operation("getConnection", "One connection (never its secrets)", ok: ("200", ref("Connection")), parameters: [idParameter]),
            // 409 for a connection that is not active.
            "patch": conflict(operation("updateConnectionWebhook", "Change the WABA's webhook override; applied at Meta, then on every sibling",
                                        ok: ("202", ["type": "object"]), body: ref("ConnectionUpdate"), parameters: [idParameter])),
            "delete": operation("disconnectConnection", "Disconnect; the WABA is unsubscribed when it was its last connection",
                                ok: ("202", ["type": "object"]), parameters: [idParameter]),
        ],
        "/api/v1/connections/{id}/reveal-secrets": [
            // 409 for a disconnected connection: its secrets were erased.
            "post": conflict(operation("revealSecrets", "The connection's secrets (audited; 60 per hour per API key)",
                                       ok: ("200", ref("RevealedSecrets")), body: ref("RevealRequest"), parameters: [idParameter])),
        ],
        "/api/v1/audit/secret-reveals": [
            "get": operation("listSecretReveals", "Every reveal of a secret, newest first", ok: ("200", ref("SecretRevealPage")),
                             parameters: pageParameters + [query("connectionId", ["type": "string"]), query("keyId", ["type": "string"]),
                                                           query("since", ["type": "string", "format": "date-time"])]),
        ],
        "/api/v1/tenants": [
            "get": operation("listTenants", "The account's tenants, newest first", ok: ("200", ref("TenantPage")), parameters: pageParameters),
        ],
        "/api/v1/tenants/{tenantId}": [
            "get": operation("getTenant", "One tenant with its connections", ok: ("200", ref("Tenant")),
                             parameters: [["name": "tenantId", "in": "path", "required": true, "schema": ["type": "string"]]]),
        ],
        "/api/v1/connections/{id}/health": [
            "get": operation("getConnectionHealth", "The latest health snapshot", ok: ("200", ref("Health")), parameters: [idParameter]),
        ],
        "/api/v1/connections/{id}/health/refresh": [
            "post": operation("refreshConnectionHealth", "Poll Meta for the number's health now", ok: ("202", ["type": "object"]),
                              parameters: [idParameter], idempotent: true),
        ],
        "/api/v1/connections/{id}/heartbeat/confirm": [
            "post": operation("confirmHeartbeat", "The tenant opened the WhatsApp Business app: a new 13-day cycle",
                              ok: ("200", ref("Connection")), parameters: [idParameter], idempotent: true),
        ],
        "/meta/webhook": [
            "get": ["operationId": "verifyMetaCallback", "summary": "Meta's verification of the app callback",
                    "security": [[String: Any]](),
                    "parameters": [query("hub.mode", ["type": "string"]), query("hub.verify_token", ["type": "string"]),
                                   query("hub.challenge", ["type": "string"])],
                    "responses": ["200": ["description": "The challenge", "content": ["text/plain": ["schema": ["type": "string"]]]],
                                  "403": errorResponse]],
            "post": ["operationId": "receiveMetaCallback", "summary": "Meta's app-level webhook (X-Hub-Signature-256 required)",
                     "security": [[String: Any]](),
                     "parameters": [["name": "X-Hub-Signature-256", "in": "header", "required": true, "schema": ["type": "string"]]],
                     "requestBody": ["required": true, "content": jsonContent(["type": "object"])],
                     "responses": ["200": response("Recorded", ["type": "object"]), "400": errorResponse, "401": errorResponse,
                                   "413": errorResponse, "415": errorResponse, "503": errorResponse]],
        ],
    ] }

    static var idParameter: [String: Any] { ["name": "id", "in": "path", "required": true, "schema": ["type": "string"]] }

    static var nullableString: [String: Any] { ["type": ["string", "null"]] }
    /// Text with something visible in it and no control characters (`SessionRequest.visible`).
    static let visibleText = #"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"#
    /// `health.issues`: what limits the number, per entity, as Meta reports it.
    static var healthIssues: [String: Any] {
        ["type": "array", "items": ["type": "object", "required": ["entity", "code"], "properties": [
            "entity": ["type": "string"], "code": ["type": "string"], "description": nullableString]]]
    }
    static var timestamp: [String: Any] { ["type": "string", "format": "date-time"] }
    static var nullableTimestamp: [String: Any] { ["type": ["string", "null"], "format": "date-time"] }

    static var components: [String: Any] { [
        "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "description": "dh_live_… API key"],
                            "metricsToken": ["type": "http", "scheme": "bearer",
                                             "description": "The value of DUALHOOK_METRICS_TOKEN; without that variable metrics are off (404)"]],
        "schemas": [
            "Error": ["type": "object", "required": ["error"], "properties": [
                "error": ["type": "object", "required": ["code", "message", "param", "requestId"], "properties": [
                    "code": ["type": "string"], "message": ["type": "string"], "param": nullableString,
                    "requestId": ["type": "string"]]]]],
            "Account": ["type": "object", "required": ["accountId", "name", "displayName", "redirectOrigins", "rateLimitPerMinute",
                                                       "createdAt", "eventEndpoint"],
                        "properties": [
                "accountId": ["type": "string"], "name": ["type": "string"], "displayName": ["type": "string"],
                "logoUrl": nullableString, "eventUrl": nullableString,
                "brandColor": nullableString, "supportEmail": nullableString, "supportUrl": nullableString,
                "privacyPolicyUrl": nullableString,
                "redirectOrigins": ["type": "array", "items": ["type": "string"]],
                "rateLimitPerMinute": ["type": "integer"], "createdAt": timestamp,
                "eventEndpoint": ["type": "object", "required": ["status", "failingSince", "lastError", "lastSuccessAt"], "properties": [
                    "status": ["type": "string", "enum": ["healthy", "failing", "disabled", "not_configured"]],
                    "failingSince": nullableTimestamp, "lastError": nullableString, "lastSuccessAt": nullableTimestamp]]]],
            "Event": ["type": "object",
                      "required": ["id", "type", "createdAt", "data", "deliveryStatus", "attemptCount", "deliveredAt", "nextAttemptAt"],
                      "properties": [
                "id": ["type": "string"], "type": ["type": "string", "enum": EventRoutes.types], "createdAt": timestamp,
                "data": ["type": "object"], "deliveryStatus": ["type": "string", "enum": ["pending", "delivered", "failed", "no_endpoint"]],
                "attemptCount": ["type": "integer"], "deliveredAt": nullableTimestamp, "nextAttemptAt": nullableTimestamp,
                "deliveries": ["type": "array", "items": ["type": "object",
                    "required": ["endpointId", "url", "status", "attemptCount", "deliveredAt", "nextAttemptAt"], "properties": [
                    "endpointId": ["type": "string"], "url": ["type": "string"],
                    "status": ["type": "string", "enum": ["pending", "delivered", "failed", "held"]],
                    "attemptCount": ["type": "integer"], "deliveredAt": nullableTimestamp, "nextAttemptAt": nullableTimestamp]]],
                "attempts": ["type": "array", "items": ["type": "object",
                    "required": ["attemptedAt", "endpointId", "url", "statusCode", "durationMs", "error", "responseBody"], "properties": [
                    "attemptedAt": timestamp, "endpointId": nullableString, "url": ["type": "string"], "statusCode": ["type": ["integer", "null"]],
                    "durationMs": ["type": "number"], "error": nullableString, "responseBody": nullableString]]]]],
            "Connection": ["type": "object",
                           "required": ["connectionId", "tenantId", "wabaId", "phoneNumberId", "displayPhoneNumber", "verifiedName", "status",
                                        "connectionMode", "webhookOverrideUrl", "health", "heartbeat", "createdAt", "webhookUpdate"],
                           "properties": [
                "connectionId": ["type": "string"], "tenantId": ["type": "string"], "wabaId": ["type": "string"],
                "phoneNumberId": ["type": "string"], "displayPhoneNumber": nullableString, "verifiedName": nullableString,
                "status": ["type": "string", "enum": ConnectionStatus.allCases.map(\.rawValue)],
                "connectionMode": ["type": "string", "enum": ["cloud_api", "coexistence", "unknown"]],
                "webhookOverrideUrl": ["type": "string"], "createdAt": timestamp,
                "disconnectReason": nullableString, "disconnectedAt": nullableTimestamp,
                "health": ["type": "object", "required": ["status", "qualityRating", "messagingLimitTier", "checkedAt"], "properties": [
                    "status": nullableString, "qualityRating": nullableString, "messagingLimitTier": nullableString,
                    "checkedAt": nullableTimestamp, "messagingLimit": nullableString, "issues": healthIssues]],
                "heartbeat": ["type": "object", "required": ["applies", "status", "dueAt", "confirmedAt"], "properties": [
                    "applies": ["type": "boolean"], "status": ["type": ["string", "null"], "enum": ["ok", "due_soon", "overdue", NSNull()]],
                    "dueAt": nullableTimestamp, "confirmedAt": nullableTimestamp]],
                "webhookScope": ["type": "string", "enum": ["waba", "phone_number"]],
                "routing": ["type": ["object", "null"], "required": ["effectiveUrl", "shadowed", "checkedAt"], "properties": [
                    "effectiveUrl": nullableString, "shadowed": ["type": "boolean"], "checkedAt": timestamp]],
                "tokenExpiresAt": nullableTimestamp,
                "webhookUpdate": ["type": ["object", "null"], "properties": [
                    "status": ["type": "string", "enum": ["pending", "applied", "failed"]], "error": nullableString,
                    "requestedAt": nullableTimestamp]]]],
            "Health": ["type": "object", "required": ["connectionId", "status", "qualityRating", "messagingLimitTier", "checkedAt"],
                       "properties": [
                "connectionId": ["type": "string"], "status": ["type": ["string", "null"]], "qualityRating": nullableString,
                "messagingLimitTier": nullableString, "checkedAt": nullableTimestamp, "messagingLimit": nullableString,
                "issues": healthIssues]],
            "ConnectionPage": ["type": "object", "required": ["data", "nextCursor"], "properties": [
                "data": ["type": "array", "items": ["$ref": "#/components/schemas/Connection"]], "nextCursor": nullableString]],
            "ConnectionUpdate": ["type": "object", "additionalProperties": false, "minProperties": 1,
                                 "properties": [
                "webhookOverrideUrl": ["type": "string", "format": "uri", "maxLength": 200],
                "webhookVerifyToken": ["type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[\\x21-\\x7e]+$"]]],
            "RevealRequest": ["type": "object", "additionalProperties": false, "required": ["secretTypes"], "properties": [
                "secretTypes": ["type": "array", "minItems": 1, "maxItems": 3,
                                "items": ["type": "string", "enum": ["access_token", "webhook_verify_token", "registration_pin"]]]]],
            "RevealedSecrets": ["type": "object", "required": ["connectionId", "secrets"], "properties": [
                "connectionId": ["type": "string"],
                "secrets": ["type": "object", "additionalProperties": ["type": ["string", "null"]]]]],
            "SecretRevealPage": ["type": "object", "required": ["data", "nextCursor"], "properties": [
                "data": ["type": "array", "items": ["type": "object",
                    "required": ["revealId", "keyId", "connectionId", "secretTypes", "clientIp", "createdAt"], "properties": [
                    "revealId": ["type": "string"], "keyId": ["type": "string"], "connectionId": ["type": "string"],
                    "secretTypes": ["type": "array", "items": ["type": "string"]], "clientIp": nullableString, "createdAt": timestamp]]],
                "nextCursor": nullableString]],
            "Tenant": ["type": "object", "required": ["tenantId", "name", "createdAt", "activeConnections"], "properties": [
                "tenantId": ["type": "string"], "name": nullableString, "createdAt": timestamp, "activeConnections": ["type": "integer"],
                "connections": ["type": "array", "items": ["$ref": "#/components/schemas/Connection"]]]],
            "TenantPage": ["type": "object", "required": ["data", "nextCursor"], "properties": [
                "data": ["type": "array", "items": ["$ref": "#/components/schemas/Tenant"]], "nextCursor": nullableString]],
            "EventPage": ["type": "object", "required": ["data", "nextCursor"], "properties": [
                "data": ["type": "array", "items": ["$ref": "#/components/schemas/Event"]], "nextCursor": nullableString]],
            "AccountUpdate": ["type": "object", "additionalProperties": false, "properties": [
                "displayName": ["type": "string", "minLength": 1, "maxLength": 100],
                "logoUrl": ["type": "string", "format": "uri"], "eventUrl": ["type": "string", "format": "uri"],
                "redirectOrigins": ["type": "array", "maxItems": 20, "items": ["type": "string", "format": "uri"]],
                "brandColor": ["type": ["string", "null"], "pattern": "^#[0-9a-fA-F]{6}$"],
                "supportEmail": ["type": ["string", "null"], "format": "email", "maxLength": 254],
                "supportUrl": ["type": ["string", "null"], "format": "uri", "maxLength": 2048],
                "privacyPolicyUrl": ["type": ["string", "null"], "format": "uri", "maxLength": 2048]]],
            "RotatedSecret": ["type": "object", "required": ["eventSigningSecret", "previousSecretExpiresAt"], "properties": [
                "eventSigningSecret": ["type": "string"], "previousSecretExpiresAt": timestamp]],
            "SessionCreate": ["type": "object", "additionalProperties": false,
                              "required": ["tenantId", "successRedirectUrl", "failureRedirectUrl", "cancelRedirectUrl",
                                           "webhookOverrideUrl", "webhookVerifyToken"],
                              "properties": [
                "tenantId": ["type": "string", "minLength": 1, "maxLength": 128, "pattern": visibleText],
                "tenantName": ["type": "string", "minLength": 1, "maxLength": 200, "pattern": visibleText],
                "successRedirectUrl": ["type": "string", "format": "uri"],
                "failureRedirectUrl": ["type": "string", "format": "uri"],
                "cancelRedirectUrl": ["type": "string", "format": "uri"],
                "webhookOverrideUrl": ["type": "string", "format": "uri", "maxLength": 200],
                "webhookVerifyToken": ["type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[\\x21-\\x7e]+$"],
                "metadata": ["type": "object"], "coexistence": ["type": "boolean"],
                "expiresInSeconds": ["type": "integer", "minimum": 300, "maximum": 86400],
                "webhookScope": ["type": "string", "enum": ["waba", "phone_number"]],
                "locale": ["type": "string", "minLength": 2, "maxLength": 35, "pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"]]],
            "Usage": ["type": "object", "required": ["accountId", "period", "plan", "trialEndsAt", "connectionDays", "billableConnections",
                                                     "extraConnections", "estimatedAmount", "connections"], "properties": [
                "accountId": ["type": "string"], "period": ["type": "string"],
                "plan": ["type": "object", "required": ["name", "currency", "monthlyPrice", "includedConnections", "extraConnectionPrice", "trialDays"],
                         "properties": ["name": ["type": "string"], "currency": ["type": "string"], "monthlyPrice": ["type": "string"],
                                        "includedConnections": ["type": "integer"], "extraConnectionPrice": ["type": "string"],
                                        "trialDays": ["type": "integer"]]],
                "trialEndsAt": timestamp, "connectionDays": ["type": "integer"], "billableConnections": ["type": "string"],
                "extraConnections": ["type": "string"], "estimatedAmount": ["type": "string"],
                "connections": ["type": "array", "items": ["type": "object", "required": ["connectionId", "tenantId", "activeDays"], "properties": [
                    "connectionId": ["type": "string"], "tenantId": ["type": "string"], "activeDays": ["type": "integer"]]]]]],
            "SessionLink": ["type": "object", "required": ["sessionId", "onboardingUrl", "expiresAt"], "properties": [
                "sessionId": ["type": "string"], "onboardingUrl": ["type": "string"], "expiresAt": timestamp]],
            "SessionCreated": ["type": "object", "required": ["sessionId", "onboardingUrl", "status", "expiresAt"], "properties": [
                "sessionId": ["type": "string"], "onboardingUrl": ["type": "string"],
                "status": ["type": "string", "enum": ["created"]], "expiresAt": timestamp]],
            "Session": ["type": "object",
                        "required": ["sessionId", "tenantId", "status", "webhookCheck", "failureReason", "connectionId",
                                     "metadata", "webhookScope", "webhookOverrideUrl", "successRedirectUrl", "failureRedirectUrl",
                                     "cancelRedirectUrl", "coexistence", "createdAt", "expiresAt"],
                        "properties": [
                "sessionId": ["type": "string"], "tenantId": ["type": "string"],
                "status": ["type": "string", "enum": sessionStatuses],
                "webhookCheck": ["type": "string", "enum": ["pending", "passed", "failed"]], "webhookCheckError": nullableString,
                "failureReason": nullableString, "connectionId": nullableString, "metadata": ["type": "object"],
                "failureDetail": ["type": ["object", "null"], "properties": [
                    "currentStep": nullableString, "errorMessage": nullableString, "errorId": nullableString,
                    "metaSessionId": nullableString]],
                "webhookScope": ["type": "string", "enum": ["waba", "phone_number"]], "locale": nullableString,
                "webhookOverrideUrl": ["type": "string"], "successRedirectUrl": ["type": "string"],
                "failureRedirectUrl": ["type": "string"], "cancelRedirectUrl": ["type": "string"], "coexistence": ["type": "boolean"],
                "createdAt": timestamp, "expiresAt": timestamp]],
            "OnboardingComplete": ["type": "object", "additionalProperties": false, "required": ["code", "wabaId"], "properties": [
                "code": ["type": "string", "minLength": 1, "maxLength": 2048],
                "wabaId": ["type": "string", "pattern": "^[0-9]{1,32}$"], "phoneNumberId": ["type": "string", "pattern": "^[0-9]{1,32}$"],
                "businessId": ["type": "string", "pattern": "^[0-9]{1,32}$"], "event": ["type": "string", "maxLength": 64]]],
            "OnboardingCancel": ["type": "object", "additionalProperties": false, "properties": [
                "currentStep": ["type": "string", "maxLength": 100], "errorId": ["type": "string", "maxLength": 100],
                "errorCode": ["type": "string", "maxLength": 100, "description": "The older name of errorId"],
                "errorMessage": ["type": "string", "maxLength": 1000], "metaSessionId": ["type": "string", "maxLength": 100]]],
            "OnboardingStatus": ["type": "object", "required": ["status", "redirectUrl", "webhookCheck", "open"], "properties": [
                "status": ["type": "string", "enum": sessionStatuses], "redirectUrl": nullableString,
                "open": ["type": "boolean", "description": "Whether the link can still start Meta's sign-up."],
                "webhookCheck": ["type": "string", "enum": ["pending", "passed", "failed"]]]],
            "WebhookCheckState": ["type": "object", "required": ["webhookCheck"], "properties": [
                "webhookCheck": ["type": "string", "enum": ["pending", "passed", "failed"]]]],
            "SessionPage": ["type": "object", "required": ["data", "nextCursor"], "properties": [
                "data": ["type": "array", "items": ["$ref": "#/components/schemas/Session"]], "nextCursor": nullableString]],
        ].merging(eventEndpointSchemas) { $1 },
    ] }
}
