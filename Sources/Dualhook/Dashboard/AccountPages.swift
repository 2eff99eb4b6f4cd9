import Crypto
import Foundation
import HTTPServer
import JobQueue
import Postgres

/// The account's other pages: onboarding sessions, events (with redeliver), API keys (a new
/// key shown once, revoke), settings (TOTP, the signing secret) and the audit trail.
enum AccountPages {
    static let linkFields = ["tenantId", "tenantName", "webhookOverrideUrl", "webhookVerifyToken", "successRedirectUrl",
                             "failureRedirectUrl", "cancelRedirectUrl"]

    /// The link form's labels, by the API's field names.
    static let linkLabels = ["tenantId": "Customer id (yours)", "tenantName": "Customer name", "webhookOverrideUrl": "Their webhook URL (https)",
                             "webhookVerifyToken": "Verify token for that URL", "successRedirectUrl": "After success, go to",
                             "failureRedirectUrl": "After a failure, go to", "cancelRedirectUrl": "If they cancel, go to"]

    /// An agency's self-serve link: the same session the API's POST makes, from a form.
    static func createLink(_ context: APIContext) throws -> Response {
        let (_, account) = try DashboardAccess.member(context, changing: true)
        if try PlanStore.onboardingBlocked(accountID: account, on: context.connection) { throw PlanStore.planRequired }
        let form = Form(context.request.body)
        var fields: [String: Any] = [:]
        for name in linkFields { if let value = form[name], !value.isEmpty { fields[name] = value } }
        let origins = try context.connection.sql("SELECT redirect_origins::text FROM accounts WHERE id = \(account)").scalar(String.self) ?? "{}"
        let input: SessionRequest
        do {
            input = try SessionRequest(body: try JSONObject(body: try JSONSerialization.data(withJSONObject: fields)),
                                       redirectOrigins: PostgresTextArray.parse(origins),
                                       allowPrivateTargets: context.configuration.allowPrivateTargets)
        } catch let error as APIError where error.status == 400 {
            // The form again with what was typed and what to correct, not a page that loses it.
            // The verify token is a secret, never written into a page: it is asked for again.
            var typed: [String: String] = [:]
            for name in linkFields where name != "webhookVerifyToken" { typed[name] = form[name] }
            // Named as the form labels it (the API's name stays in the message for whoever
            // reads both), and that field marked for the browser and for a screen reader.
            let label = error.param.flatMap { linkLabels[$0] }
            let message = label.map { "\($0): \(error.message)" } ?? error.message
            return try sessions(context, notice: DashboardLayout.problem(message, tokenTyped: form["webhookVerifyToken"]?.isEmpty == false),
                                typed: typed, invalid: error.param, status: 400)
        }
        let created = try SessionRoutes.create(input, accountID: account, configuration: context.configuration, on: context.connection)
        let (session, _) = try DashboardAccess.member(context)
        try AuditTrail.record("session.create", target: created.sessionId, accountID: account, user: session.user,
                              clientIP: context.request.clientIP, on: context.connection)
        return try sessions(context, notice: """
            <div class="notice" role="status"><p>Send this one-time link to \(input.tenantName ?? input.tenantId); it works until \(Timestamps.short(created.expiresAt)).</p>
            <p class="secret" id="new-link">\(created.onboardingUrl)</p></div>
            """)
    }

    /// `typed`: the form's values to show again (a refused form). The list is filtered by
    /// status and tenant and paged (`DashboardPaging`).
    static func sessions(_ context: APIContext, notice: HTML = "", typed: [String: String] = [:], invalid: String? = nil,
                         status: Int = 200) throws -> Response {
        let (session, account) = try DashboardAccess.member(context)
        let query = context.request.query
        let shownStatus = query["status"].flatMap { SessionRoutes.statuses.contains($0) ? $0 : nil }
        let tenant = Self.tenantFilter(query)
        let paging = DashboardPaging(query: query)
        var filter = SQLFilter()
        filter.add("account_id = \(account)")
        filter.add(ifGiven: shownStatus, SessionRoutes.statusCondition)
        filter.add(ifGiven: tenant) { "tenant_id = \($0)" }
        paging.restrict(&filter, createdAt: "created_at", id: "id")
        let (found, older) = try paging.cut(try context.connection.sql("""
            SELECT id, tenant_id, status, failure_reason, webhook_check, created_at, expires_at < now() AND status IN ('created', 'opened')
            FROM onboarding_sessions WHERE \(filter.sql) ORDER BY created_at DESC, id DESC LIMIT \(paging.limit)
            """).rows) { (try $0.decode(Date.self, at: 5), try $0.decode(String.self, at: 0)) }
        let rows = try found.map { row -> HTML in
            let status = try row.decode(Bool.self, at: 6) ? "expired" : try row.decode(String.self, at: 2)
            return """
                <tr><td>\(try row.decode(String.self, at: 0))</td><td>\(try row.decode(String.self, at: 1))</td><td>\(status)</td>
                <td>\(try row.decode(String?.self, at: 3) ?? "")</td><td>\(try row.decode(String.self, at: 4))</td>
                <td>\(Timestamps.short(try row.decode(Date.self, at: 5)))</td></tr>
                """
        }
        let inputs = linkFields.map { name -> HTML in
            let marked: HTML = name == invalid ? " aria-invalid=\"true\" aria-describedby=\"form-problem\" autofocus" : ""
            return "<label for=\"\(name)\">\(linkLabels[name] ?? name)</label><input id=\"\(name)\" name=\"\(name)\" value=\"\(typed[name] ?? "")\"\(name == "tenantName" ? "" : " required")\(marked)>"
        }
        let form: HTML = session.user.role?.canChange == true ? """
            <section><h2>Create a link</h2><form method="post" action="/dashboard/sessions">\(DashboardLayout.csrfField(session.csrfToken))\(inputs)
            <p><button type="submit" id="create-link">Create the link</button></p></form></section>
            """ : ""
        let kept = [("status", shownStatus), ("tenantId", tenant)]
        let body: HTML = """
            \(notice)\(form)<section><h2>Links</h2><p class="muted">Made here or with <code>POST /api/v1/onboarding/sessions</code>, newest first.</p>
            \(filterForm(path: "/dashboard/sessions", selects: [("status", "Status", "any status", SessionRoutes.statuses, shownStatus)], tenant: tenant))
            <div class="scroll"><table id="sessions"><tr><th>session</th><th>tenant</th><th>status</th><th>reason</th><th>webhook check</th><th>created</th></tr>\(rows)</table></div>
            \(rows.isEmpty ? "<p class=\"muted\">No link matches.</p>" : "" as HTML)\(paging.links(path: "/dashboard/sessions", kept: kept, older: older))</section>
            """
        return DashboardLayout.page("Onboarding", session: session, here: "/dashboard/sessions", body: body, status: status)
    }

    static func events(_ context: APIContext) throws -> Response {
        let (session, account) = try DashboardAccess.member(context)
        let query = context.request.query
        let status = query["status"].flatMap { EventRoutes.deliveryStatuses.contains($0) ? $0 : nil }
        let type = query["type"].flatMap { EventRoutes.types.contains($0) ? $0 : nil }
        let tenant = Self.tenantFilter(query)
        let paging = DashboardPaging(query: query)
        var filter = SQLFilter()
        filter.add("account_id = \(account)")
        filter.add(ifGiven: status) { "delivery_status = \($0)" }
        filter.add(ifGiven: type) { "type = \($0)" }
        filter.add(ifGiven: tenant) { "data->>'tenantId' = \($0)" }
        paging.restrict(&filter, createdAt: "created_at", id: "id")
        let canChange = session.user.role?.canChange == true
        let (found, older) = try paging.cut(try context.connection.sql("""
            SELECT id, type, created_at, delivery_status, attempts, data->>'tenantId' FROM events WHERE \(filter.sql)
            ORDER BY created_at DESC, id DESC LIMIT \(paging.limit)
            """).rows) { (try $0.decode(Date.self, at: 2), try $0.decode(String.self, at: 0)) }
        let rows = try found.map { row -> HTML in
            let id: String = try row.decode(at: 0)
            let redeliver: HTML = canChange ? """
                <form class="inline" method="post" action="/dashboard/events/\(id)/redeliver">\(DashboardLayout.csrfField(session.csrfToken))<button type="submit">Redeliver</button></form>
                """ : ""
            return """
                <tr><td><a href="/dashboard/events/\(id)">\(id)</a></td><td>\(try row.decode(String.self, at: 1))</td>
                <td>\(try row.decode(String?.self, at: 5) ?? "")</td><td>\(try row.decode(String.self, at: 3))</td><td>\(try row.decode(Int.self, at: 4))</td>
                <td>\(Timestamps.short(try row.decode(Date.self, at: 2)))</td><td>\(redeliver)</td></tr>
                """
        }
        let filters = filterForm(path: "/dashboard/events", selects: [
            ("type", "Type", "any type", EventRoutes.types, type),
            ("status", "Delivery", "any delivery", EventRoutes.deliveryStatuses, status),
        ], tenant: tenant)
        let pager = paging.links(path: "/dashboard/events", kept: [("type", type), ("status", status), ("tenantId", tenant)], older: older)
        let endpoints = try endpointRows(account: account, session: session, on: context.connection)
        let notice = DashboardLayout.notice(context.request.query["done"])
        let body: HTML = """
            \(notice)<section><h2>Event endpoints</h2><p class="muted">Each receives the events its filters take, signed with its own secret
            (<code>/api/v1/event-endpoints</code>). A disabled endpoint's events are kept and go out when it is enabled.</p>
            <div class="scroll"><table id="endpoints"><tr><th>URL</th><th>types</th><th>tenants</th><th>status</th><th>health</th><th></th></tr>\(endpoints)</table></div></section>
            <section><h2>Events</h2>\(filters)
            <div class="scroll"><table id="events"><tr><th>event</th><th>type</th><th>tenant</th><th>delivery</th><th>attempts</th><th>created</th><th></th></tr>\(rows)</table></div>
            \(rows.isEmpty ? "<p class=\"muted\">No event matches.</p>" : "" as HTML)\(pager)</section>
            """
        return DashboardLayout.page("Events", session: session, here: "/dashboard/events", body: body)
    }

    /// The `tenantId` a list is filtered by: trimmed, nil when empty; longer than a tenant id
    /// can be, it matches nothing rather than being cut to one that might.
    static func tenantFilter(_ query: [String: String]) -> String? {
        let tenant = (query["tenantId"] ?? "").trimmingCharacters(in: .whitespaces)
        return tenant.isEmpty ? nil : tenant
    }

    /// A list's filters as a GET form: selects (`name`, label, the "any" option, values, chosen)
    /// and the tenant id.
    static func filterForm(path: String, selects: [(String, String, String, [String], String?)], tenant: String?) -> HTML {
        let fields = selects.map { name, label, any, values, chosen -> HTML in
            let options = ([""] + values).map { value -> HTML in
                "<option value=\"\(value)\"\(value == (chosen ?? "") ? " selected" : "")>\(value.isEmpty ? any : value)</option>"
            }
            return "<label for=\"filter-\(name)\">\(label)</label><select id=\"filter-\(name)\" name=\"\(name)\">\(options)</select>"
        }
        return """
            <form method="get" action="\(path)" class="filters">\(fields)
            <label for="filter-tenantId">Tenant id (yours)</label><input id="filter-tenantId" name="tenantId" value="\(tenant ?? "")">
            <p><button type="submit">Filter</button></p></form>
            """
    }

    /// The account's event endpoints as table rows, with Enable for a disabled one, and Disable
    /// (pause: its events are held) and Send test for an enabled one.
    static func endpointRows(account: String, session: DashboardSessions.Session, on connection: Connection) throws -> [HTML] {
        let canChange = session.user.role?.canChange == true
        return try EventEndpointStore.list(accountID: account, page: try Pagination(query: ["limit": "100"]), on: connection).data.map { endpoint in
            let status: HTML = endpoint.status == .enabled ? "enabled"
                : "<span class=\"bad\">disabled (\(endpoint.disabledReason?.rawValue ?? ""))</span>"
            let health: HTML = endpoint.health.status == "healthy" ? "healthy"
                : "<span class=\"bad\">failing since \(endpoint.health.failingSince.map(Timestamps.short) ?? ""): \(endpoint.health.lastError ?? "")</span>"
            let action = endpoint.status == .disabled ? "enable" : "disable"
            let test: HTML = endpoint.status == .enabled ? """
                <form class="inline" method="post" action="/dashboard/event-endpoints/\(endpoint.endpointId)/test">\(DashboardLayout.csrfField(session.csrfToken))<button type="submit" id="test-\(endpoint.endpointId)">Send test</button></form>
                """ : ""
            let actions: HTML = canChange ? """
                <form class="inline" method="post" action="/dashboard/event-endpoints/\(endpoint.endpointId)/\(action)">\(DashboardLayout.csrfField(session.csrfToken))<button type="submit" id="\(action)-\(endpoint.endpointId)">\(endpoint.status == .disabled ? "Enable" : "Disable")</button></form>\(test)
                """ : ""
            return """
                <tr><td>\(endpoint.url)\(endpoint.isDefault ? " (default)" : "")</td><td>\(endpoint.eventTypes.isEmpty ? "all" : endpoint.eventTypes.joined(separator: ", "))</td>
                <td>\(endpoint.tenantIds.isEmpty ? "all" : endpoint.tenantIds.joined(separator: ", "))</td><td>\(status)</td><td>\(health)</td><td>\(actions)</td></tr>
                """
        }
    }

    static func enableEndpoint(_ context: APIContext) throws -> Response {
        try endpointAction(context, "enable") { endpoint, account in
            _ = try EventEndpointStore.enable(endpoint.endpointId, accountID: account, on: context.connection)
            return "/dashboard/events?done=enable"
        }
    }

    static func disableEndpoint(_ context: APIContext) throws -> Response {
        try endpointAction(context, "disable") { endpoint, account in
            try EventEndpointStore.disable(endpoint.endpointId, reason: .manual, accountID: account, on: context.connection)
            return "/dashboard/events?done=disable"
        }
    }

    /// Sends the endpoint `endpoint.test` and shows that event, where its attempt appears.
    static func testEndpoint(_ context: APIContext) throws -> Response {
        try endpointAction(context, "test") { endpoint, account in
            guard endpoint.status == .enabled else { return "/dashboard/events" }
            let event = try EventEndpointStore.sendTest(endpoint, accountID: account, on: context.connection)
            return "/dashboard/events/\(event)?done=test"
        }
    }

    /// A form's change to one of the account's endpoints: a member who may change things, the
    /// endpoint found (404 otherwise), the change, its audit row (`event_endpoint.<action>`), and
    /// the redirect the change names.
    private static func endpointAction(_ context: APIContext, _ action: String,
                                       _ change: (EventEndpoint, String) throws -> String) throws -> Response {
        let (session, account) = try DashboardAccess.member(context, changing: true)
        let id = context.request.parameters["id"] ?? ""
        guard let endpoint = try EventEndpointStore.find(id, accountID: account, on: context.connection) else {
            throw APIError.notFound("event endpoint")
        }
        let next = try change(endpoint, account)
        try AuditTrail.record("event_endpoint.\(action)", target: id, accountID: account, user: session.user, clientIP: context.request.clientIP,
                              on: context.connection)
        return DashboardLayout.redirect(next)
    }

    static func event(_ context: APIContext) throws -> Response {
        let (session, account) = try DashboardAccess.member(context)
        let id = context.request.parameters["id"] ?? ""
        guard let row = try context.connection.sql("""
            SELECT type, created_at, delivery_status, data::text FROM events WHERE id = \(id) AND account_id = \(account)
            """).first else { throw APIError.notFound("event") }
        let attempts = try context.connection.sql("""
            SELECT attempted_at, status_code, duration_ms, error, url FROM event_attempts WHERE event_id = \(id) ORDER BY id
            """).rows.map { attempt -> HTML in
            """
            <tr><td>\(Timestamps.short(try attempt.decode(Date.self, at: 0)))</td><td>\(try attempt.decode(String.self, at: 4))</td>
            <td>\(try attempt.decode(Int?.self, at: 1).map(String.init) ?? "—")</td>
            <td>\(String(format: "%.0f ms", try attempt.decode(Double.self, at: 2)))</td><td>\(try attempt.decode(String?.self, at: 3) ?? "")</td></tr>
            """
        }
        let redeliver: HTML = session.user.role?.canChange == true ? """
            <form method="post" action="/dashboard/events/\(id)/redeliver">\(DashboardLayout.csrfField(session.csrfToken))<button type="submit" id="redeliver">Redeliver now</button></form>
            """ : ""
        let notice = DashboardLayout.notice(context.request.query["done"])
        let body: HTML = """
            \(notice)<section><p><b>\(try row.decode(String.self, at: 0))</b> · \(Timestamps.short(try row.decode(Date.self, at: 1))) · \(try row.decode(String.self, at: 2))</p>
            <pre class="secret">\(try row.decode(String.self, at: 3))</pre>\(redeliver)</section>
            <section><h2>Attempts</h2><table id="attempts"><tr><th>when</th><th>endpoint</th><th>status</th><th>took</th><th>error</th></tr>\(attempts)</table></section>
            """
        return DashboardLayout.page("Event \(id)", session: session, here: "/dashboard/events", body: body)
    }

    static func redeliver(_ context: APIContext) throws -> Response {
        let (session, account) = try DashboardAccess.member(context, changing: true)
        let id = context.request.parameters["id"] ?? ""
        try EventRoutes.queueRedelivery(id, accountID: account, on: context.connection)
        try AuditTrail.record("event.redeliver", target: id, accountID: account, user: session.user, clientIP: context.request.clientIP,
                              on: context.connection)
        return DashboardLayout.redirect("/dashboard/events/\(id)?done=redeliver")
    }

    static func keys(_ context: APIContext, shown: (id: String, key: String)? = nil) throws -> Response {
        let (session, account) = try DashboardAccess.member(context)
        let canChange = session.user.role?.canChange == true
        let rows = try AccountStore.listKeys(accountID: account, on: context.connection).map { key -> HTML in
            let revoke: HTML = key.revokedAt == nil && canChange ? """
                <form class="inline" method="post" action="/dashboard/keys/\(key.keyId)/revoke">\(DashboardLayout.csrfField(session.csrfToken))
                <button type="submit" class="danger" id="revoke-\(key.keyId)">Revoke</button></form>
                """ : ""
            return "<tr><td>\(key.keyId)</td><td><code>\(key.prefix)…</code></td><td>\(Timestamps.short(key.createdAt))</td><td>\(key.revokedAt.map(Timestamps.short) ?? "live")</td><td>\(revoke)</td></tr>"
        }
        let created: HTML = shown.map { """
            <div class="notice" role="status"><p>Key <b>\($0.id)</b> created. Copy it now: it is shown this once.</p><p class="secret" id="new-key">\($0.key)</p></div>
            """ } ?? ""
        let form: HTML = canChange ? """
            <form method="post" action="/dashboard/keys">\(DashboardLayout.csrfField(session.csrfToken))\(DashboardLayout.onceField())<button type="submit" id="create-key">Create a key</button></form>
            """ : ""
        let body: HTML = """
            \(created)<section>\(form)<div class="scroll"><table><tr><th>key</th><th>prefix</th><th>created</th><th>revoked</th><th></th></tr>\(rows)</table></div></section>
            """
        return DashboardLayout.page("API keys", session: session, here: "/dashboard/keys", body: body)
    }

    static func createKey(_ context: APIContext) throws -> Response {
        let (session, account) = try DashboardAccess.member(context, changing: true)
        // Posted again by a reload: the key was made (and shown) the first time.
        guard try DashboardSessions.firstUse(of: Form(context.request.body)["once"], in: session, on: context.connection) else {
            return DashboardLayout.redirect("/dashboard/keys")
        }
        let key = try AccountStore.createKey(accountID: account, on: context.connection)
        try AuditTrail.record("api_key.create", target: key.keyId, accountID: account, user: session.user, clientIP: context.request.clientIP,
                              on: context.connection)
        // Answered in place (never in a URL): the key is shown once.
        return try keys(context, shown: (key.keyId, key.apiKey))
    }

    static func revokeKey(_ context: APIContext) throws -> Response {
        let (session, account) = try DashboardAccess.member(context, changing: true)
        let id = context.request.parameters["id"] ?? ""
        guard try AccountStore.revokeKey(id, accountID: account, on: context.connection) else {
            throw APIError.notFound("live key")
        }
        try AuditTrail.record("api_key.revoke", target: id, accountID: account, user: session.user, clientIP: context.request.clientIP,
                              on: context.connection)
        return DashboardLayout.redirect("/dashboard/keys")
    }

    static func audit(_ context: APIContext) throws -> Response {
        let (session, account) = try DashboardAccess.member(context)
        let rows = try context.connection.sql("""
            SELECT a.created_at, coalesce(u.email, 'API key ' || r.key), a.action, coalesce(a.target, ''), coalesce(a.client_ip, '') FROM (
                SELECT created_at, user_id, NULL AS key, action, target, client_ip FROM audit_events WHERE account_id = \(account)
                UNION ALL
                SELECT created_at, NULL, api_key_id, 'secrets.reveal (' || array_to_string(secret_types, ', ') || ')', connection_id, client_ip
                FROM secret_reveal_events WHERE account_id = \(account)) a
            LEFT JOIN users u ON u.id = a.user_id
            LEFT JOIN LATERAL (SELECT a.key) r ON true
            ORDER BY a.created_at DESC LIMIT 200
            """).rows.map { row -> HTML in
            """
            <tr><td>\(Timestamps.short(try row.decode(Date.self, at: 0)))</td><td>\(try row.decode(String.self, at: 1))</td>
            <td>\(try row.decode(String.self, at: 2))</td><td>\(try row.decode(String.self, at: 3))</td><td>\(try row.decode(String.self, at: 4))</td></tr>
            """
        }
        let body: HTML = """
            <section><div class="scroll"><table><tr><th>when</th><th>who</th><th>what</th><th>on</th><th>from</th></tr>\(rows)</table></div></section>
            """
        return DashboardLayout.page("Audit trail", session: session, here: "/dashboard/audit", body: body)
    }
}
