import Foundation
import HTTPServer
import JobQueue
import Postgres

/// `/dashboard/connections` (filter and search), one page per connection with its timeline
/// and actions (refresh health, disconnect), each action confirmed and audited.
enum ConnectionPages {
    static func list(_ context: APIContext) throws -> Response {
        let (session, account) = try DashboardAccess.member(context)
        let query = context.request.query
        let search = (query["q"] ?? "").trimmingCharacters(in: .whitespaces)
        let status = query["status"].flatMap { ConnectionStatus(rawValue: $0)?.rawValue }
        let paging = DashboardPaging(query: query)
        var filter = SQLFilter()
        filter.add("c.account_id = \(account)")
        filter.add(ifGiven: status) { "c.status = \($0)" }
        if !search.isEmpty {
            let like = "%" + search.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + "%"
            // A number matches by its digits too: `15550102306` finds `+1 555-010-2306`.
            let digits = search.filter(\.isASCII).filter(\.isNumber)
            let byDigits: PostgresQuery = digits.count >= 4
                ? "OR regexp_replace(coalesce(c.display_phone_number, ''), '[^0-9]', '', 'g') LIKE \("%" + digits + "%")" : ""
            filter.add("(c.tenant_id ILIKE \(like) OR c.display_phone_number ILIKE \(like) OR c.waba_id = \(search) OR c.phone_number_id = \(search) \(byDigits))")
        }
        paging.restrict(&filter, createdAt: "c.created_at", id: "c.id")
        let (found, older) = try paging.cut(try context.connection.sql("""
            SELECT c.id, c.tenant_id, coalesce(c.display_phone_number, c.phone_number_id), c.status, c.connection_mode,
                   c.health_status, c.quality_rating, c.created_at
            FROM connections c WHERE \(filter.sql) ORDER BY c.created_at DESC, c.id DESC LIMIT \(paging.limit)
            """).rows) { (try $0.decode(Date.self, at: 7), try $0.decode(String.self, at: 0)) }
        let rows = try found.map { row -> HTML in
            let id: String = try row.decode(at: 0)
            return """
                <tr><td><a href="/dashboard/connections/\(id)">\(try row.decode(String.self, at: 2))</a></td><td>\(try row.decode(String.self, at: 1))</td>
                <td>\(try row.decode(String.self, at: 3))</td><td>\(try row.decode(String.self, at: 4))</td>
                <td>\(try row.decode(String?.self, at: 5) ?? "—") / \(try row.decode(String?.self, at: 6) ?? "—")</td>
                <td>\(Timestamps.short(try row.decode(Date.self, at: 7)))</td></tr>
                """
        }
        let options = ([""] + ConnectionStatus.allCases.map(\.rawValue)).map { value -> HTML in
            "<option value=\"\(value)\"\(value == (status ?? "") ? " selected" : "")>\(value.isEmpty ? "any status" : value)</option>"
        }
        let body: HTML = """
            <section><form method="get" action="/dashboard/connections">
            <label for="q">Tenant, number, WABA or phone number id</label><input id="q" name="q" value="\(search)">
            <label for="status">Status</label><select id="status" name="status">\(options)</select>
            <p><button type="submit">Filter</button></p></form></section>
            <section><div class="scroll"><table><tr><th>number</th><th>tenant</th><th>status</th><th>mode</th><th>health / quality</th><th>since</th></tr>
            \(rows)</table></div>\(rows.isEmpty ? "<p class=\"muted\">No connection matches.</p>" : "" as HTML)
            \(paging.links(path: "/dashboard/connections", kept: [("q", search.isEmpty ? nil : search), ("status", status)], older: older))</section>
            """
        return DashboardLayout.page("Connections", session: session, here: "/dashboard/connections", body: body)
    }

    static func detail(_ context: APIContext) throws -> Response { try detail(context, refused: nil) }

    /// `refused`: a webhook change refused as entered: the reason, and the URL typed, shown again.
    static func detail(_ context: APIContext, refused: (message: String, url: String, tokenTyped: Bool)?) throws -> Response {
        let (session, account) = try DashboardAccess.member(context)
        let id = context.request.parameters["id"] ?? ""
        let view = try ConnectionView.find(id, accountID: account, on: context.connection)
        func text(_ value: Any??) -> String {
            switch value {
            case let date as Date: return Timestamps.short(date)
            case let string as String: return string
            case let number as Int: return String(number)
            case let flag as Bool: return flag ? "yes" : "no"
            default: return "—"
            }
        }
        let health = (view["health"] ?? nil) as? [String: Any?] ?? [:]
        let heartbeat = (view["heartbeat"] ?? nil) as? [String: Any?] ?? [:]
        let routing = (view["routing"] ?? nil) as? [String: Any?]
        // The last webhook change as the API shows it (`webhookUpdate`): one Meta refused says so
        // here, with Meta's reason, rather than the page going back to the old URL without a word.
        let update = (view["webhookUpdate"] ?? nil) as? [String: Any?]
        let updateText = update.map { u in
            "\(text(u["status"])), asked \(text(u["requestedAt"]))" + ((u["error"] ?? nil).map { ": \(text($0))" } ?? "")
        } ?? "none asked"
        let facts: [(String, String)] = [
            ("Tenant", text(view["tenantId"])), ("Number", text(view["displayPhoneNumber"])), ("Verified name", text(view["verifiedName"])),
            ("Status", text(view["status"])), ("Mode", text(view["connectionMode"])), ("WABA", text(view["wabaId"])),
            ("Phone number id", text(view["phoneNumberId"])), ("Webhook URL", text(view["webhookOverrideUrl"])),
            ("Webhook change", updateText),
            ("Routing", routing.map { ($0["shadowed"] as? Bool == true ? "shadowed: Meta delivers to " : "as set: ") + text($0["effectiveUrl"]) } ?? "not read yet"),
            ("Health", "\(text(health["status"])), quality \(text(health["qualityRating"])), limit \(text(health["messagingLimit"])), read \(text(health["checkedAt"]))"),
            ("Heartbeat", heartbeat["applies"] as? Bool == true ? "\(text(heartbeat["status"])), due \(text(heartbeat["dueAt"]))" : "does not apply"),
            ("Token expires", text(view["tokenExpiresAt"])), ("Connected", text(view["createdAt"])),
        ]
        let factRows = facts.map { "<tr><th>\($0.0)</th><td>\($0.1)</td></tr>" as HTML }
        let timeline = try context.connection.sql("""
            SELECT created_at, type, coalesce(data->>'reason', data->'current'->>'status', data->>'connectionMode', '')
            FROM events WHERE account_id = \(account) AND data->>'connectionId' = \(id)
            ORDER BY created_at DESC, id DESC LIMIT 50
            """).rows.map { row -> HTML in
            "<tr><td>\(Timestamps.short(try row.decode(Date.self, at: 0)))</td><td>\(try row.decode(String.self, at: 1))</td><td>\(try row.decode(String.self, at: 2))</td></tr>"
        }
        let live = text(view["status"]) != "disconnected"
        let canChange = session.user.role?.canChange == true
        let actions: HTML = live && canChange ? """
            <section><h2>Actions</h2>
            <form class="inline" method="post" action="/dashboard/connections/\(id)/refresh">\(DashboardLayout.csrfField(session.csrfToken))
            <button type="submit" id="refresh-health">Refresh health now</button></form>
            <form method="post" action="/dashboard/connections/\(id)/webhook">\(DashboardLayout.csrfField(session.csrfToken))
            <label for="webhookOverrideUrl">Webhook URL (Meta checks it with its handshake)</label>
            <input id="webhookOverrideUrl" name="webhookOverrideUrl" value="\(refused?.url ?? text(view["webhookOverrideUrl"]))" required>
            <label for="webhookVerifyToken">Verify token</label><input id="webhookVerifyToken" name="webhookVerifyToken" required>
            <label><input type="checkbox" name="confirm" value="yes" required> Change where Meta sends this number's messages</label>
            <button type="submit" id="change-webhook">Change the webhook</button></form>
            \(heartbeat["applies"] as? Bool == true ? """
            <form method="post" action="/dashboard/connections/\(id)/heartbeat">\(DashboardLayout.csrfField(session.csrfToken))
            <button type="submit" id="confirm-heartbeat">Confirm the app is still in use</button></form>
            """ as HTML : "")
            <form method="post" action="/dashboard/connections/\(id)/disconnect">\(DashboardLayout.csrfField(session.csrfToken))
            <label><input type="checkbox" name="confirm" value="yes" required> I understand messages stop reaching this tenant's URL</label>
            <button type="submit" class="danger" id="disconnect">Disconnect</button></form></section>
            """ : ""
        let notice = refused.map { DashboardLayout.problem($0.message, tokenTyped: $0.tokenTyped) } ?? DashboardLayout.notice(context.request.query["done"])
        let body: HTML = """
            \(notice)<section><table>\(factRows)</table></section>\(actions)
            <section><h2>Timeline</h2><div class="scroll"><table><tr><th>when</th><th>event</th><th>detail</th></tr>\(timeline)</table></div>
            \(timeline.isEmpty ? "<p class=\"muted\">Nothing has happened to this connection yet.</p>" : "" as HTML)</section>
            """
        return DashboardLayout.page(text(view["displayPhoneNumber"]), session: session, here: "/dashboard/connections", body: body,
                                    status: refused == nil ? 200 : 400)
    }

    static func refresh(_ context: APIContext) throws -> Response {
        let (session, account) = try DashboardAccess.member(context, changing: true)
        let id = context.request.parameters["id"] ?? ""
        _ = try ConnectionView.find(id, accountID: account, on: context.connection)
        try PollHealth.bringForward(id, on: context.connection)
        try AuditTrail.record("connection.health_refresh", target: id, accountID: account, user: session.user,
                              clientIP: context.request.clientIP, on: context.connection)
        return DashboardLayout.redirect("/dashboard/connections/\(id)?done=health")
    }

    static func changeWebhook(_ context: APIContext) throws -> Response {
        let (session, account) = try DashboardAccess.member(context, changing: true)
        let id = context.request.parameters["id"] ?? ""
        let form = Form(context.request.body)
        do {
            guard form["confirm"] == "yes" else { throw APIError.validationFailed(param: "confirm", "Tick the box to confirm the change.") }
            _ = try ConnectionRoutes.requestWebhookChange(id, accountID: account, url: form["webhookOverrideUrl"] ?? "",
                                                          verifyToken: form["webhookVerifyToken"] ?? "", configuration: context.configuration,
                                                          on: context.connection)
        } catch let error as APIError where error.status == 400 {
            // Refused before anything is written: the page again with the URL typed and the
            // reason; the verify token, a secret, is asked for again.
            return try detail(context, refused: (error.message, form["webhookOverrideUrl"] ?? "", form["webhookVerifyToken"]?.isEmpty == false))
        }
        try AuditTrail.record("connection.webhook_change", target: id, accountID: account, user: session.user,
                              detail: ["webhookOverrideUrl": form["webhookOverrideUrl"] ?? ""], clientIP: context.request.clientIP,
                              on: context.connection)
        return DashboardLayout.redirect("/dashboard/connections/\(id)?done=webhook")
    }

    static func confirmHeartbeat(_ context: APIContext) throws -> Response {
        let (session, account) = try DashboardAccess.member(context, changing: true)
        let id = context.request.parameters["id"] ?? ""
        try Heartbeat.confirm(id, accountID: account, on: context.connection)
        try AuditTrail.record("connection.heartbeat_confirm", target: id, accountID: account, user: session.user,
                              clientIP: context.request.clientIP, on: context.connection)
        return DashboardLayout.redirect("/dashboard/connections/\(id)?done=heartbeat")
    }

    static func disconnect(_ context: APIContext) throws -> Response {
        let (session, account) = try DashboardAccess.member(context, changing: true)
        let id = context.request.parameters["id"] ?? ""
        guard Form(context.request.body)["confirm"] == "yes" else {
            throw APIError.validationFailed(param: "confirm", "Tick the box to confirm the disconnection.")
        }
        let view = try ConnectionView.find(id, accountID: account, on: context.connection)
        guard (view["status"] ?? nil) as? String != "disconnected" else { return DashboardLayout.redirect("/dashboard/connections/\(id)") }
        try Disconnect.enqueue(id, reason: .api, unsubscribe: true, on: context.connection)
        try AuditTrail.record("connection.disconnect", target: id, accountID: account, user: session.user,
                              clientIP: context.request.clientIP, on: context.connection)
        return DashboardLayout.redirect("/dashboard/connections/\(id)?done=disconnect")
    }
}
