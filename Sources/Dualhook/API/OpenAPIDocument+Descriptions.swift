import Foundation

/// The words of the OpenAPI document: what each operation does, what each field means, what
/// each error code and status says, and the events an account receives (OpenAPI 3.1
/// `webhooks`). Kept apart from the shapes so the two read separately; `describe` joins them,
/// and a test checks that nothing is left undescribed.
extension OpenAPIDocument {
    /// The stable error codes of API.md, each with when it is answered.
    static let errorCodes: [(code: String, status: Int, meaning: String)] = [
        ("unauthorized", 401, "No API key, or one that is unknown or revoked (or, for /metrics, not DUALHOOK_METRICS_TOKEN)."),
        ("forbidden", 403, "The key may not do this."),
        ("not_found", 404, "No such route, or no such object in the calling account (another account's ids answer this too)."),
        ("method_not_allowed", 405, "The path exists with other methods; `Allow` lists them."),
        ("validation_failed", 400, "A field, query parameter or header is missing or wrong; `param` names it."),
        ("invalid_json", 400, "The body is not JSON, is not an object, or nests deeper than 511 levels; the message says which."),
        ("unsupported_media_type", 415, "A body was sent without `Content-Type: application/json`."),
        ("payload_too_large", 413, "The body is larger than the limit (1 MiB)."),
        ("rate_limited", 429, "A budget is used up (requests per minute for the key, or reveals per hour); `Retry-After` says when to retry."),
        ("idempotency_key_reused", 422, "The Idempotency-Key was used with a different request (compared as parsed JSON)."),
        ("idempotency_key_in_use", 409, "The first request with this Idempotency-Key is still running."),
        ("plan_required", 402, "The account's trial has ended with no plan chosen, and its plan stops onboarding until one is set."),
        ("session_expired", 410, "The onboarding session's link has expired."),
        ("session_used", 409, "The onboarding session has finished; its link or action leads nowhere now."),
        ("waba_webhook_conflict", 409, "The WhatsApp Business Account is connected for another tenant."),
        ("conflict", 409, "The object is in a state that does not allow this (a disconnected connection, a cancelled session)."),
        ("meta_error", 502, "Meta refused or failed a call this request depended on."),
        ("internal_error", 500, "Something failed on our side; the request id finds it in the logs."),
        ("unavailable", 503, "The database is unreachable; `Retry-After` says when to retry."),
    ]

    /// What an error status means on any operation.
    static let statusDescriptions: [String: String] = [
        "400": "`validation_failed` (with `param`) or `invalid_json`.",
        "401": "`unauthorized`: no valid bearer token.",
        "402": "`plan_required`: the trial has ended and the plan stops onboarding until one is chosen.",
        "403": "`forbidden`: the verify token does not match.",
        "404": "`not_found`: no such object in this account, or no such link.",
        "409": "`idempotency_key_in_use`, `session_used`, `waba_webhook_conflict` or `conflict`.",
        "410": "`session_expired`: the link is past its expiry, or was replaced.",
        "413": "`payload_too_large`: the body is over 1 MiB.",
        "415": "`unsupported_media_type`: send `Content-Type: application/json`.",
        "422": "`idempotency_key_reused`: this Idempotency-Key went with another request.",
        "429": "`rate_limited`: wait for `Retry-After` seconds.",
        "500": "`internal_error`.",
        "503": "`unavailable`: the database is unreachable; retry after `Retry-After`.",
    ]

    static let operationDescriptions: [String: String] = [
        "health": "Answers 200 while the process runs. For liveness probes.",
        "ready": "Answers 200 when the database answers, else 503. For readiness probes.",
        "metrics": "Prometheus text: requests by route and status, latency histograms, database pool, jobs by queue and state. Only with `Authorization: Bearer <DUALHOOK_METRICS_TOKEN>`; without that variable metrics are off (404).",
        "openapi": "This document.",
        "getUsage": "Connection-days of the month (a connection counts on each UTC day it was active for any part of), billable connections (connection-days ÷ days in the month), extra connections over the plan's, and the estimated amount (monthly price + extra × extra price, rounded half-up to the cent; 0.00 for a month that ends within the trial). Default: the current month; a future or malformed month is 400.",
        "reference": "The API reference as one HTML page, drawn from this document: operations, fields, errors, events and schemas.",
        "getAccount": "The calling account: names, logo, brand colour, contacts, event URL and how deliveries to it are going.",
        "updateAccount": "Changes only the fields given; `null` clears an optional one. The onboarding page shows the display name, logo, brand colour (text colour chosen for AA contrast) and contacts.",
        "rotateSigningSecret": "A new `whsec_…` event signing secret, shown once. The previous one keeps signing (a second `v1=`) for 24 hours so receivers can switch without losing events.",
        "createSession": "Creates an onboarding session for one tenant and answers its one-time link. A job then checks `webhookOverrideUrl` the way Meta will (`webhookCheck`). Send an `Idempotency-Key` to retry safely.",
        "listSessions": "Sessions, newest first, filtered by tenant, status (as reads show it: an unfinished session past its expiry is `expired`) and creation time.",
        "getSession": "One session. Its status is true at read time: one past its expiry reads `expired` before the sweep records it.",
        "cancelSession": "Revokes the link for good: the session ends `cancelled` and the account gets `onboarding.failed` with reason `cancelled`. Cancelling a cancelled session answers it again.",
        "renewSessionLink": "A fresh one-time URL for a session that has not finished, keeping its expiry; the old URL answers 410 from now on.",
        "onboardingPage": "The co-branded page the tenant opens. A GET changes nothing (link previews fetch links too); the page's script reports a person through `open`.",
        "openOnboarding": "The page's script reports that a person opened the link. The first report moves the session to `opened` and emits `onboarding.started`.",
        "recheckOnboardingWebhook": "While the tenant's URL stands refused, Connect checks it again instead of sending the person through Meta's window to fail at the end. Poll `status` for `webhookCheck`.",
        "completeOnboarding": "The page reports a finished Embedded Signup with Meta's code and ids; the code exchange is queued at once (Meta's code lives 30 s).",
        "cancelOnboarding": "The person left Meta's window. Without an error it is their choice (`cancelled`, and the link can be started again while it lives); with an error they reported, the session fails with `signup_error`.",
        "onboardingStatus": "Where the session stands, where the browser goes next, and the webhook check; the page polls it.",
        "listEvents": "Events sent to the account, newest first, by type, creation time (`since` inclusive, `until` exclusive), delivery status, tenant, and endpoint (`endpointId`: the events that went or go to it; `deliveryStatus` stays the event's own, each endpoint's is in `deliveries`).",
        "getEvent": "One event with every delivery attempt: time, URL, status code, duration and error.",
        "redeliverEvent": "Delivers the event again now, whatever its status: to one endpoint (`endpointId`), or to every enabled endpoint whose filters take it. A disabled endpoint answers 409: enable it first; so does one whose filters do not take the event and that never had it.",
        "listEventEndpoints": "The account's event endpoints, newest first, with their filters, status and health. The account's `eventUrl` is the one with `isDefault`.",
        "createEventEndpoint": "Adds an endpoint that receives the events its filters take (`eventTypes`, `tenantIds`; empty: all), signed with its own secret, answered here once. At most 20 per account (409).",
        "getEventEndpoint": "One event endpoint: its URL, filters, status (`disabledReason` when disabled), rate limit and health. Never its secret.",
        "updateEventEndpoint": "Changes the URL, description, filters, rate limit or status (`null` clears the description, the limit or a filter). Changing the default endpoint's URL changes the account's `eventUrl`. `status` does what `enable` and `disable` do. Every field is checked before any is changed.",
        "deleteEventEndpoint": "Deletes the endpoint with its undelivered events for it. Deleting the default endpoint clears the account's `eventUrl`.",
        "rotateEventEndpointSecret": "A new `whsec_…` secret, answered once; the previous ones keep signing for `overlapSeconds` (default 86,400, at most 7 days). The default endpoint's secret is the account's signing secret.",
        "enableEventEndpoint": "Enables a disabled endpoint: its health starts afresh, the events held for it are queued in order of creation (arrival order is not kept: a delivery that finds the account's slots taken steps aside and later ones overtake it; order by `createdAt`), and `endpoint.enabled` goes to the account's other endpoints.",
        "disableEventEndpoint": "Pauses an endpoint (`disabledReason: manual`): its undelivered events, and those created while it is disabled, are held and go out when it is enabled; `endpoint.disabled` goes to the account's other endpoints. An endpoint already disabled is answered as it is.",
        "testEventEndpoint": "Sends the endpoint an `endpoint.test` event now, signed and retried like any other, whatever its filters; no other endpoint gets it. Its attempts show at `GET /api/v1/events/{eventId}`. A disabled endpoint answers 409: enable it first.",
        "recoverEventEndpoint": "Delivers again every event created in [`since`, `until`) (until: now) of the given `types` (none: every type but the endpoint's own past `endpoint.test`) that the endpoint's filters take (with `onlyUndelivered`, those not yet delivered to it), once each, queued in order of creation (arrival order is not kept: order by `createdAt`), as a background job; answers how many (an event already waiting for the endpoint is sent once; one an earlier recover already delivered is delivered again, unless `onlyUndelivered`). A disabled endpoint answers 409.",
        "listConnections": "The account's connections, newest first, by tenant, WABA, phone number id and status.",
        "getConnection": "One connection: its number, mode, routing as Meta resolves it, health, heartbeat and token expiry. Never a token or verify token.",
        "updateConnectionWebhook": "Changes the webhook override. Applied at Meta first (which checks the URL with its handshake), then on every sibling of the WABA (or only this number with `webhookScope: phone_number`); progress shows as `webhookUpdate`.",
        "disconnectConnection": "Ends the connection: the WABA is unsubscribed at Meta when it was its last, `connection.disconnected` is emitted with reason `api`, and its secrets are erased.",
        "revealSecrets": "The connection's secrets, answered each time (never stored for an Idempotency-Key) with `Cache-Control: no-store`. Each call is audited; 60 per hour per API key. A disconnected connection has none (409).",
        "listSecretReveals": "The audit trail of reveals: who (key), which connection, which secrets, from which address, when.",
        "listTenants": "The account's tenants with their count of active connections.",
        "getTenant": "One tenant with its connections.",
        "getConnectionHealth": "The latest health snapshot: Meta's status, quality rating, messaging limit and the issues that limit the number.",
        "refreshConnectionHealth": "Asks Meta for the number's health now (a poll is queued).",
        "confirmHeartbeat": "Confirms that a Coexistence number's WhatsApp Business app is still in use; emits `connection.heartbeat.confirmed`.",
        "verifyMetaCallback": "Meta's verification of the app's callback: answers `hub.challenge` when `hub.verify_token` matches META_WEBHOOK_VERIFY_TOKEN.",
        "receiveMetaCallback": "Meta's app-level callback. Verified with `X-Hub-Signature-256`; management changes update Dualhook's state and are forwarded to the connection's URL; message fields arriving here are a routing anomaly.",
    ]

    /// Fields whose name means something else in one place than everywhere else, by their path
    /// from the schema (`[]` for an array's items); these win over `fieldDescriptions`.
    static let fieldDescriptionsAt: [String: String] = {
        var at = [
            "Error.error": "The error.",
            "Error.error.code": "The stable error code (the list above).",
            "Health.issues[].code": "Meta's code for the issue.", "Connection.health.issues[].code": "Meta's code for the issue.",
            "Usage.connections": "Each connection active in the period, with its days.",
            "Tenant.name": "The customer's name: the latest `tenantName` its sessions gave.",
            "Usage.plan.name": "The plan's name.",
        ]
        for schema in ["EventEndpoint", "EventEndpointCreate", "EventEndpointUpdate", "EventEndpointWithSecret"] {
            at["\(schema).description"] = "The account's own note about the endpoint."
            at["\(schema).url"] = "Where its events are delivered (https)."
        }
        for schema in ["EventEndpoint", "EventEndpointWithSecret"] {
            at["\(schema).health"] = "How deliveries to it are going."
        }
        for page in ["ConnectionPage", "EventEndpointPage", "EventPage", "SecretRevealPage", "SessionPage", "TenantPage"] {
            at["\(page).data"] = "This page's items, newest first."
        }
        return at
    }()

    /// Field and parameter names, with what they mean wherever they appear.
    static let fieldDescriptions: [String: String] = [
        "accountId": "The account's id (`acc_…`).", "name": "The internal name.", "displayName": "The name tenants see on the onboarding page.",
        "logoUrl": "The logo shown on the onboarding page.", "eventUrl": "Where events are delivered (https).",
        "brandColor": "The onboarding page's button colour, `#rrggbb`; its text is white or near-black, whichever contrasts more.",
        "supportEmail": "Shown on the onboarding pages as whom to ask.", "supportUrl": "A support page shown on the onboarding pages.",
        "privacyPolicyUrl": "The account's privacy policy, linked from the onboarding pages.",
        "redirectOrigins": "Origins the session redirect URLs must use (none: any).", "rateLimitPerMinute": "Requests per minute per API key.",
        "createdAt": "When it was created (RFC 3339, UTC).", "eventEndpoint": "How deliveries to the event URL are going.",
        "failingSince": "When deliveries started failing.", "lastError": "The last delivery error.", "lastSuccessAt": "The last delivery that succeeded.",
        "eventSigningSecret": "The new `whsec_…` secret, shown once.", "previousSecretExpiresAt": "When the previous secrets stop signing.",
        "tenantId": "The account's own id for its customer (1–128 characters).", "tenantName": "The customer's name, shown on the page.",
        "successRedirectUrl": "Where the browser goes after success (`?sessionId=…&status=completed|awaiting_number`).",
        "failureRedirectUrl": "Where the browser goes after a failure (`?sessionId=…&status=failed&reason=…`).",
        "cancelRedirectUrl": "Where the browser goes when the person cancels (`?sessionId=…&status=cancelled`).",
        "webhookOverrideUrl": "The tenant's URL that Meta delivers the number's messages to (Webhook Override).",
        "webhookVerifyToken": "The verify token Meta sends to the override URL in its handshake (1–128 printable characters).",
        "metadata": "The account's own JSON object (≤ 4 KiB), returned on the session and in every event about it.",
        "coexistence": "Onboard a number that keeps the WhatsApp Business app (Coexistence).",
        "expiresInSeconds": "How long the link works: 300 to 86,400 seconds (default 3,600).",
        "webhookScope": "`waba`: the override is set on the WABA; `phone_number`: only on this signup's number(s).",
        "locale": "The page's language (BCP 47, e.g. `pt-BR`); default: the browser's Accept-Language, then English.",
        "sessionId": "The session's id (`ses_…`).", "onboardingUrl": "The one-time link to send to the tenant.",
        "status": "Where it stands; see the enumeration.", "expiresAt": "When the link stops working.",
        "webhookCheck": "Whether the override URL answered Meta's handshake: `pending`, `passed` or `failed`.",
        "webhookCheckError": "Why the check failed: the status code answered or the network error. Never a secret.",
        "failureReason": "Why the session failed or was cancelled.", "failureDetail": "What the person reported in Meta's window (`signup_error`).",
        "metaError": "Meta's refusal, when Meta refused: `code`, `subcode`, `fbtraceId`, `details`.",
        "cancelledBy": "Who cancelled: `end_user` (not final: the person may start again from the link while it lives) or `api` (final).",
        "currentStep": "The Embedded Signup step the person was on.", "errorMessage": "The error the person reported.", "errorId": "Meta's id of that error.",
        "connectionId": "The connection's id (`con_…`).", "redirectUrl": "Where the browser goes next, once the session has ended.",
        "code": "Meta's OAuth code from the SDK's callback.", "wabaId": "The WhatsApp Business Account id.",
        "phoneNumberId": "The phone number id at Meta.", "businessId": "The Meta business portfolio id.",
        "event": "The Embedded Signup finish event (`FINISH`, `FINISH_ONLY_WABA`, `FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING`).",
        "errorCode": "The older name of `errorId`.", "metaSessionId": "Meta's id of the signup session the error was reported in.",
        "id": "The object's id.", "type": "The event type.", "data": "The event's payload; carries `tenantId` in every event about a tenant's session or connection (`endpoint.*` events are about the account's own endpoints and carry none).",
        "deliveryStatus": "Over all its deliveries: `failed` when one failed, `pending` while one is due or held, `delivered` when all were, `no_endpoint` when no endpoint took it.",
        "attemptCount": "Delivery attempts so far (for an event, every one it listed, those to endpoints since deleted too).", "deliveredAt": "When it was delivered; for an event, when the last of its deliveries succeeded, once all have.",
        "nextAttemptAt": "When the next attempt is due; for an event, the earliest of its pending deliveries'.",
        "attempts": "Every delivery attempt.", "attemptedAt": "When the attempt was made.", "url": "Where it was sent.",
        "statusCode": "The HTTP status answered, if any.", "durationMs": "How long it took.", "error": "What went wrong.",
        "responseBody": "The start of the answer's body.", "displayPhoneNumber": "The number as Meta displays it.",
        "verifiedName": "The business name Meta verified.", "connectionMode": "`cloud_api`, `coexistence`, or `unknown` until Meta settles it.",
        "disconnectReason": "Why it was disconnected.", "disconnectedAt": "When it was disconnected.",
        "health": "The latest health snapshot.", "qualityRating": "Meta's quality rating.", "messagingLimitTier": "Meta's messaging limit tier.",
        "messagingLimit": "Meta's messaging limit.", "checkedAt": "When this was last read.", "issues": "What limits the number, per entity.",
        "entity": "The entity Meta names (WABA, phone number, business).", "description": "Meta's description.",
        "heartbeat": "Whether a Coexistence number's app use is confirmed in time.", "applies": "Whether the heartbeat applies (Coexistence numbers).",
        "dueAt": "When the next confirmation is due.", "confirmedAt": "When it was last confirmed.",
        "routing": "Where Meta delivers the number's messages, as last read.", "effectiveUrl": "The URL Meta resolves for the number.",
        "shadowed": "True when Meta would deliver somewhere other than the connection's URL.",
        "tokenExpiresAt": "When the access token expires (null: it does not).",
        "webhookUpdate": "The progress of the last webhook change.", "requestedAt": "When it was requested.",
        "secretTypes": "Which secrets: `access_token`, `webhook_verify_token`, `registration_pin`.", "secrets": "The secrets asked for.",
        "revealId": "The reveal's id.", "keyId": "The API key that asked.", "clientIp": "The address it came from.",
        "activeConnections": "Active connections of the tenant.", "connections": "The tenant's connections.",
        "nextCursor": "Pass as `cursor` for the next page; null on the last.", "limit": "Page size, 1–100 (default 20).",
        "cursor": "A `nextCursor` from the previous page.", "since": "Only those created at or after this time (RFC 3339).",
        "period": "A month, `YYYY-MM` (UTC).", "plan": "The account's plan.", "trialEndsAt": "When the trial ends.",
        "connectionDays": "Days connections were active in the period, summed.", "billableConnections": "Connection-days ÷ days in the period (decimal string).",
        "extraConnections": "Billable connections over the plan's included ones (decimal string).",
        "estimatedAmount": "What the period costs, in the plan's currency (decimal string).", "currency": "ISO 4217 currency.",
        "monthlyPrice": "The plan's monthly price.", "includedConnections": "Connections the monthly price includes.",
        "extraConnectionPrice": "The price of each extra connection per month.", "trialDays": "The plan's trial, in days.",
        "activeDays": "UTC days the connection was active in the period.",
        "hub.mode": "`subscribe`.", "hub.verify_token": "Must equal META_WEBHOOK_VERIFY_TOKEN.", "hub.challenge": "Echoed back.",
        "token": "The onboarding link's token.", "Idempotency-Key": "Any string up to 255 characters: the first answer is replayed for an hour.",
        "X-Hub-Signature-256": "`sha256=` HMAC of the raw body with the app secret.", "message": "What went wrong, in words.",
        "param": "The field or parameter at fault, or null.",
        "endpointId": "The event endpoint's id (`ep_…`).", "eventTypes": "Event types it receives (empty: all).",
        "tenantIds": "Tenants whose events it receives (empty: all; account-level events go only to endpoints without a tenant filter).",
        "disabledReason": "`gone` (it answered 410), `failing` (every attempt failed for 5 days) or `manual` (the account disabled it); null when enabled.",
        "disabledAt": "When it was disabled.", "rateLimitPerSecond": "At most this many deliveries start per second (null: no limit).",
        "isDefault": "The account's `eventUrl`, signed with the account's signing secret.",
        "secret": "The `whsec_…` signing secret, answered on create and rotate only.",
        "previousSecretsExpireAt": "While a rotation's overlap runs, when the secrets before the current one stop signing; null when the current one alone signs (and on create).",
        "overlapSeconds": "How long the previous secrets keep signing: 0 to 604,800 seconds (default 86,400).",
        "until": "Only those created before this time (default: now).", "types": "Only these event types (default: all).",
        "onlyUndelivered": "Only the events not yet delivered to the endpoint (failed, still retrying, or never sent to it); default false: every event of the range.",
        "queued": "How many events will be delivered again.", "deleted": "True: it is gone.",
        "deliveries": "One per endpoint the event goes to, with its own status and attempts.",
        "endpointIds": "The endpoints it is delivered to again.", "eventId": "The event's id (`evt_…`).", "requestId": "The request's id (the `Request-Id` header).",
    ]

    /// Every event type: when it is sent and the fields of its `data` beyond `tenantId`.
    static let eventDescriptions: [EventType: (summary: String, fields: [String])] = [
        .onboardingStarted: ("A person opened the onboarding link (its page reported them).", ["sessionId", "metadata"]),
        .onboardingCompleted: ("The number is connected, with its override set at Meta. `twoStepPinReplaced: true` when the number had a two-step verification PIN of its own, which registration replaced with the one `reveal-secrets` gives as `registration_pin`.",
                               ["sessionId", "connectionId", "wabaId", "phoneNumberId", "connectionMode", "twoStepPinReplaced", "metadata"]),
        .onboardingFailed: ("The session failed or was cancelled; `reason` says why.",
                            ["sessionId", "reason", "cancelledBy", "currentStep", "errorMessage", "errorId", "metaError", "error", "metadata"]),
        .onboardingAwaitingNumber: ("The WABA is subscribed but Meta shows no verified number yet.", ["sessionId", "wabaId", "metadata"]),
        .onboardingWebhookCheckFailed: ("The tenant's override URL did not answer Meta's handshake.",
                                        ["sessionId", "webhookOverrideUrl", "webhookCheckError", "metadata"]),
        .connectionDisconnected: ("A connection ended; `reason` says why.", ["connectionId", "wabaId", "phoneNumberId", "reason", "metadata"]),
        .connectionSuspended: ("A Coexistence number moved devices; it comes back with `connection.resumed`.",
                               ["connectionId", "wabaId", "phoneNumberId", "reason"]),
        .connectionResumed: ("A suspended connection is active again.", ["connectionId", "wabaId", "phoneNumberId", "reason"]),
        .connectionModeResolved: ("Meta settled an `unknown` connection's mode.", ["connectionId", "wabaId", "phoneNumberId", "connectionMode"]),
        .connectionHealthChanged: ("Status, quality, limit or issues changed.", ["connectionId", "wabaId", "phoneNumberId", "previous", "current"]),
        .connectionTokenExpiring: ("The access token expires within 7 days.", ["connectionId", "wabaId", "tokenExpiresAt"]),
        .heartbeatDueSoon: ("A Coexistence number's heartbeat is due soon.", ["connectionId", "dueAt"]),
        .heartbeatOverdue: ("A Coexistence number's heartbeat is overdue.", ["connectionId", "dueAt"]),
        .heartbeatConfirmed: ("A heartbeat was confirmed.", ["connectionId", "confirmedAt"]),
        .accountTrialEnding: ("The account's trial ends in 3 days and no plan is chosen.", ["trialEndsAt", "plan"]),
        .usageThreshold: ("Active connections reached 80% or 100% of the plan's included ones (once each per month).",
                          ["percent", "period", "activeConnections", "includedConnections"]),
        .endpointWarning: ("An event endpoint has failed every attempt for a day (`days` 1) or three (`days` 3); at 5 it is disabled.",
                           ["endpointId", "url", "failingSince", "days", "lastError"]),
        .endpointDisabled: ("An event endpoint was disabled: it answered 410 (`reason` `gone`), failed for 5 days (`failing`), or the account disabled it (`manual`); its events are held. `failingSince` and `lastError` when it was failing.",
                            ["endpointId", "url", "reason", "failingSince", "lastError"]),
        .endpointEnabled: ("An event endpoint was enabled again; its held events are being sent.",
                           ["endpointId", "url"]),
        .endpointTest: ("A test the account asked for (`POST /api/v1/event-endpoints/{id}/test`).",
                        ["endpointId", "url"]),
    ]

    /// Which endpoints an event of `type` goes to (the rule of `DeliveryStore.takes`).
    static func recipients(_ type: EventType) -> String {
        switch type {
        case .endpointTest: "Sent to the endpoint tested only, whatever its filters."
        case .endpointWarning, .endpointDisabled, .endpointEnabled:
            "Sent to the account's other enabled endpoints whose `eventTypes` take it and that have no `tenantIds` filter (it is about no tenant)."
        default:
            type.isAboutTenant ? "Sent to every enabled endpoint of the account whose `eventTypes` and `tenantIds` take it (the account's `eventUrl` is one)."
                : "Sent to every enabled endpoint of the account whose `eventTypes` take it and that has no `tenantIds` filter (it is about no tenant)."
        }
    }

    /// The headers of every delivery; how each signature is keyed is what verifiers get wrong.
    static var deliveryHeaders: [[String: Any]] { [
        ["name": "X-Dualhook-Event", "in": "header", "required": true, "schema": ["type": "string"], "description": "The event type."],
        ["name": "X-Dualhook-Event-Id", "in": "header", "required": true, "schema": ["type": "string"],
         "description": "The event id, the same on every attempt: de-duplicate on it."],
        ["name": "X-Dualhook-Signature", "in": "header", "required": true, "schema": ["type": "string"],
         "description": "`t=<unix seconds>,v1=<hex>[,v1=<hex>]`: each hex is HMAC-SHA256 keyed with the whole secret string (`whsec_…`, as it is) over `<t>.<raw body>`, one `v1` per valid secret (two during a rotation's overlap). Refuse a `t` more than 5 minutes away."],
        ["name": "webhook-id", "in": "header", "required": true, "schema": ["type": "string"], "description": "Standard Webhooks: the event id."],
        ["name": "webhook-timestamp", "in": "header", "required": true, "schema": ["type": "string"], "description": "Standard Webhooks: unix seconds of this attempt."],
        ["name": "webhook-signature", "in": "header", "required": true, "schema": ["type": "string"],
         "description": "Standard Webhooks: `v1,<base64>` separated by spaces, each HMAC-SHA256 keyed with the base64-decoded part of the secret after `whsec_`, over `<webhook-id>.<webhook-timestamp>.<raw body>` (what the `standardwebhooks` and `svix` libraries check)."],
    ] }

    /// One entry per event type, as OpenAPI 3.1 describes requests the API makes.
    static var webhooks: [String: Any] {
        var out: [String: Any] = [:]
        for type in EventType.allCases {
            let (summary, fields) = eventDescriptions[type] ?? ("", [])
            var properties: [String: Any] = type.isAboutTenant ? ["tenantId": ["type": "string"]] : [:]
            for field in fields {
                properties[field] = ["metadata", "previous", "current"].contains(field) ? ["type": "object"]
                    : ["days", "percent", "activeConnections", "includedConnections"].contains(field) ? ["type": "integer"]
                    : ["type": ["string", "null"]]
            }
            let body: [String: Any] = ["type": "object", "required": ["id", "type", "createdAt", "data"], "properties": [
                "id": ["type": "string", "description": "The event id (`evt_…`), also `X-Dualhook-Event-Id` and `webhook-id`."],
                "type": ["type": "string", "const": type.rawValue], "createdAt": timestamp,
                "data": ["type": "object", "required": type.isAboutTenant ? ["tenantId"] : [], "properties": properties],
            ]]
            out[type.rawValue] = ["post": [
                "operationId": "event." + type.rawValue, "summary": summary,
                "description": "\(summary) \(recipients(type)) Signed with each endpoint's own secret (the default endpoint's is the account's) in both header families below. Any 2xx within 15 s is delivered; otherwise retried after 1 m, 5 m, 15 m, 1 h, 6 h and 24 h. Delivery is at least once and order is not kept: de-duplicate on the id, order by `createdAt`. `data` fields other than `tenantId` are present when known.",
                "parameters": deliveryHeaders,
                "requestBody": ["required": true, "content": jsonContent(body)],
                "responses": ["2XX": ["description": "Delivered."]],
            ]]
        }
        return out
    }

    /// Adds the words to the shapes: operation descriptions, error statuses, field and
    /// parameter descriptions, the error codes, and examples.
    static func describe(_ document: inout [String: Any]) {
        if var paths = document["paths"] as? [String: Any] {
            for (path, value) in paths {
                guard var operations = value as? [String: Any] else { continue }
                for (method, opValue) in operations {
                    guard var op = opValue as? [String: Any] else { continue }
                    if let id = op["operationId"] as? String, op["description"] == nil, let text = operationDescriptions[id] {
                        op["description"] = text
                    }
                    if var responses = op["responses"] as? [String: Any] {
                        for (status, responseValue) in responses {
                            guard var response = responseValue as? [String: Any], response["description"] as? String == "An error",
                                  let text = statusDescriptions[status] else { continue }
                            response["description"] = text
                            responses[status] = response
                        }
                        op["responses"] = responses
                    }
                    if let parameters = op["parameters"] as? [[String: Any]] {
                        op["parameters"] = parameters.map { parameter in
                            var parameter = parameter
                            if parameter["description"] == nil, let name = parameter["name"] as? String {
                                parameter["description"] = fieldDescriptions[name] ?? (name == "id" ? "The object's id." : nil)
                            }
                            return parameter
                        }
                    }
                    operations[method] = op
                }
                paths[path] = operations
            }
            document["paths"] = paths
        }
        if var components = document["components"] as? [String: Any], var schemas = components["schemas"] as? [String: Any] {
            for (name, schema) in schemas { schemas[name] = describeFields(schema, at: name) }
            if var error = schemas["Error"] as? [String: Any] {
                error["description"] = "Every error answer. Stable codes:\n" + errorCodes.map { "- `\($0.code)` (\($0.status)): \($0.meaning)" }
                    .joined(separator: "\n")
                error["examples"] = [["error": ["code": "validation_failed", "message": "tenantId must be 1 to 128 characters",
                                                "param": "tenantId", "requestId": "req_8dj2kQ0"]]]
                schemas["Error"] = error
            }
            if var create = schemas["SessionCreate"] as? [String: Any] {
                create["examples"] = [["tenantId": "cust_42", "tenantName": "Clinic 42",
                                       "successRedirectUrl": "https://app.example.com/done", "failureRedirectUrl": "https://app.example.com/error",
                                       "cancelRedirectUrl": "https://app.example.com/cancel", "webhookOverrideUrl": "https://api.example.com/whatsapp",
                                       "webhookVerifyToken": "s3cret", "metadata": ["plan": "pro"], "expiresInSeconds": 3600]]
                schemas["SessionCreate"] = create
            }
            components["schemas"] = schemas
            document["components"] = components
        }
    }

    /// Gives every property without a description the one its path has, or else the one its
    /// name has everywhere.
    static func describeFields(_ schema: Any, at path: String) -> Any {
        guard var object = schema as? [String: Any] else { return schema }
        if var properties = object["properties"] as? [String: Any] {
            for (name, value) in properties {
                var property = describeFields(value, at: "\(path).\(name)") as? [String: Any] ?? [:]
                if property["description"] == nil, property["$ref"] == nil,
                   let text = fieldDescriptionsAt["\(path).\(name)"] ?? fieldDescriptions[name] {
                    property["description"] = text
                }
                properties[name] = property
            }
            object["properties"] = properties
        }
        if let items = object["items"] { object["items"] = describeFields(items, at: path + "[]") }
        return object
    }
}
