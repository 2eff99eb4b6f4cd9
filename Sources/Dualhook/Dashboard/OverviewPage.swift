import Foundation
import HTTPServer
import Postgres

/// `/dashboard`: the account's numbers by status and health with problems first, the
/// onboarding funnel of the last 30 days with its drop-off and failure reasons, and how event
/// deliveries are going.
enum OverviewPage {
    struct Problem {
        let connectionID: String
        let label: String
        let reasons: [String]
    }

    static func render(_ context: APIContext) throws -> Response {
        let (session, account) = try DashboardAccess.member(context)
        let db = context.connection
        let counts = try db.sql("""
            SELECT count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'suspended'),
                   count(*) FILTER (WHERE status = 'disconnected'),
                   count(*) FILTER (WHERE status = 'active' AND (health_status = 'BLOCKED' OR quality_rating = 'RED'))
            FROM connections WHERE account_id = \(account)
            """)[0]
        let problems = try problemList(account: account, on: db)
        let funnel = try db.sql("""
            SELECT count(*), count(opened_at), count(exchanging_since), count(*) FILTER (WHERE status IN ('completed', 'awaiting_number'))
            FROM onboarding_sessions WHERE account_id = \(account) AND created_at > now() - interval '30 days'
            """)[0]
        let reasons = try db.sql("""
            SELECT failure_reason, count(*) FROM onboarding_sessions
            WHERE account_id = \(account) AND created_at > now() - interval '30 days' AND failure_reason IS NOT NULL
            GROUP BY failure_reason ORDER BY count(*) DESC
            """).rows.map { (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 1)) }
        let deliveries = try db.sql("""
            SELECT count(*) FILTER (WHERE delivery_status = 'delivered'), count(*) FILTER (WHERE delivery_status = 'failed'),
                   count(*) FILTER (WHERE delivery_status = 'pending')
            FROM events WHERE account_id = \(account) AND created_at > now() - interval '7 days'
            """)[0]
        let endpoint = try db.sql("SELECT status, last_error FROM event_endpoints WHERE account_id = \(account)").first

        let active: Int = try counts.decode(at: 0), suspended: Int = try counts.decode(at: 1)
        let disconnected: Int = try counts.decode(at: 2), unhealthy: Int = try counts.decode(at: 3)
        let cards: HTML = """
            <div class="cards">
            <div class="card"><b>\(active)</b>active numbers</div>
            <div class="card"><b class="\(suspended > 0 ? "bad" : "")">\(suspended)</b>suspended</div>
            <div class="card"><b class="\(unhealthy > 0 ? "bad" : "")">\(unhealthy)</b>blocked or quality RED</div>
            <div class="card"><b>\(disconnected)</b>disconnected</div>
            </div>
            """
        var problemRows = problems.map { problem -> HTML in
            "<tr><td><a href=\"/dashboard/connections/\(problem.connectionID)\">\(problem.label)</a></td><td class=\"bad\">\(problem.reasons.joined(separator: ", "))</td></tr>"
        }
        if let endpoint, try endpoint.decode(String.self, at: 0) == "failing" {
            problemRows.insert("<tr><td><a href=\"/dashboard/events\">Event endpoint</a></td><td class=\"bad\">failing: \(try endpoint.decode(String?.self, at: 1) ?? "")</td></tr>", at: 0)
        }
        let problemSection: HTML = problemRows.isEmpty
            ? "<section><h2>Problems</h2><p class=\"ok\">Nothing needs attention.</p></section>"
            : "<section><h2>Problems</h2><div class=\"scroll\"><table><tr><th>what</th><th>why</th></tr>\(problemRows)</table></div></section>"

        let steps = [("Links created", try funnel.decode(Int.self, at: 0)), ("Opened by a person", try funnel.decode(Int.self, at: 1)),
                     ("Finished Meta's sign-up", try funnel.decode(Int.self, at: 2)), ("Connected", try funnel.decode(Int.self, at: 3))]
        let reasonRows = reasons.map { "<tr><td>\($0.0)</td><td>\($0.1)</td></tr>" as HTML }
        let delivered: Int = try deliveries.decode(at: 0), failed: Int = try deliveries.decode(at: 1), pending: Int = try deliveries.decode(at: 2)
        let rate = delivered + failed == 0 ? "no deliveries yet" : String(format: "%.1f%% delivered", 100 * Double(delivered) / Double(delivered + failed))
        let body: HTML = """
            \(cards)
            \(problemSection)
            <section><h2>Onboarding, last 30 days</h2>\(FunnelChart.svg(steps))
            \(reasonRows.isEmpty ? "" : "<h2>Why sessions failed</h2><table><tr><th>reason</th><th>sessions</th></tr>\(reasonRows)</table>" as HTML)
            </section>
            <section><h2>Event deliveries, last 7 days</h2><p><b>\(rate)</b> · \(delivered) delivered, \(failed) failed, \(pending) waiting</p></section>
            """
        return DashboardLayout.page("Overview", session: session, here: "/dashboard", body: body)
    }

    /// Live connections that need attention, worst first: suspended, blocked, RED quality,
    /// routed elsewhere by Meta, heartbeat overdue, token expiring within 7 days.
    static func problemList(account: String, on db: Connection) throws -> [Problem] {
        try db.sql("""
            SELECT id, label, suspended, blocked, red, shadowed, overdue, expiring FROM (
                SELECT c.id, coalesce(c.display_phone_number, c.phone_number_id) || ' · ' || c.tenant_id AS label,
                       c.status = 'suspended' AS suspended, c.health_status = 'BLOCKED' AS blocked, c.quality_rating = 'RED' AS red,
                       c.routing_checked_at IS NOT NULL AND c.routing_effective_url IS DISTINCT FROM c.webhook_override_url AS shadowed,
                       c.connection_mode = 'coexistence'
                           AND COALESCE(c.heartbeat_confirmed_at, c.created_at) + make_interval(secs => \(Heartbeat.period)) < now() AS overdue,
                       c.token_expires_at IS NOT NULL AND c.token_expires_at < now() + interval '7 days' AS expiring
                FROM connections c WHERE c.account_id = \(account) AND c.status IN ('active', 'suspended')) p
            WHERE suspended OR blocked OR red OR shadowed OR overdue OR expiring
            ORDER BY suspended DESC, blocked DESC, red DESC, shadowed DESC, overdue DESC, expiring DESC, id
            LIMIT 50
            """).rows.map { row in
            let names = ["suspended", "blocked", "quality RED", "routing shadowed", "heartbeat overdue", "token expiring"]
            var reasons: [String] = []
            for (index, name) in names.enumerated() where try row.decode(Bool?.self, at: index + 2) == true { reasons.append(name) }
            return Problem(connectionID: try row.decode(at: 0), label: try row.decode(at: 1), reasons: reasons)
        }
    }
}

/// A horizontal bar chart drawn on the server: each step's count, and its share of the first.
enum FunnelChart {
    static func svg(_ steps: [(String, Int)]) -> HTML {
        let top = max(1, steps.first?.1 ?? 1)
        let rowHeight = 30, width = 640, labelWidth = 190
        let bars = steps.enumerated().map { index, step -> HTML in
            let y = index * rowHeight
            let length = Int(Double(width - labelWidth - 90) * Double(step.1) / Double(top))
            let share = index == 0 ? "" : String(format: "%.0f%%", 100 * Double(step.1) / Double(top))
            return """
                <text x="0" y="\(y + 19)">\(step.0)</text>
                <rect x="\(labelWidth)" y="\(y + 6)" width="\(max(length, 1))" height="18" fill="#1565c0" rx="3"></rect>
                <text x="\(labelWidth + max(length, 1) + 6)" y="\(y + 19)">\(step.1) \(share)</text>
                """
        }
        return """
            <svg role="img" aria-label="Onboarding funnel" viewBox="0 0 \(width) \(steps.count * rowHeight)" width="100%" preserveAspectRatio="xMinYMin meet">\(bars)</svg>
            """
    }
}
