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
                   (SELECT count(*) FROM connections u WHERE u.account_id = \(account) AND u.status IN ('active', 'suspended')
                      AND (u.health_status = 'BLOCKED' OR u.quality_rating = 'RED'))
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
        // Each kind of problem from its own partial index (sql/017), then one row per connection.
        try db.sql("""
            WITH flagged AS (
                SELECT id, 1 AS kind FROM connections WHERE account_id = \(account) AND status = 'suspended'
                UNION ALL
                SELECT id, CASE WHEN health_status = 'BLOCKED' THEN 2 ELSE 3 END FROM connections
                WHERE account_id = \(account) AND status IN ('active', 'suspended') AND (health_status = 'BLOCKED' OR quality_rating = 'RED')
                UNION ALL
                SELECT id, 4 FROM connections
                WHERE account_id = \(account) AND status IN ('active', 'suspended') AND routing_checked_at IS NOT NULL
                  AND routing_effective_url IS DISTINCT FROM webhook_override_url
                UNION ALL
                SELECT id, 5 FROM connections
                WHERE account_id = \(account) AND status IN ('active', 'suspended') AND connection_mode = 'coexistence'
                  AND COALESCE(heartbeat_confirmed_at, created_at) < now() - make_interval(secs => \(Heartbeat.period))
                UNION ALL
                SELECT id, 6 FROM connections
                WHERE account_id = \(account) AND status IN ('active', 'suspended') AND token_expires_at IS NOT NULL
                  AND token_expires_at < now() + interval '7 days'),
            worst AS (SELECT id, array_agg(DISTINCT kind ORDER BY kind) AS kinds FROM flagged GROUP BY id ORDER BY min(kind), id LIMIT 50)
            SELECT w.id, coalesce(c.display_phone_number, c.phone_number_id) || ' · ' || c.tenant_id, w.kinds::text
            FROM worst w JOIN connections c ON c.id = w.id
            ORDER BY w.kinds[1], w.id
            """).rows.map { row in
            let names = [1: "suspended", 2: "blocked", 3: "quality RED", 4: "routing shadowed", 5: "heartbeat overdue", 6: "token expiring"]
            let kinds = try row.decode(String.self, at: 2).trimmingCharacters(in: CharacterSet(charactersIn: "{}")).split(separator: ",")
            return Problem(connectionID: try row.decode(at: 0), label: try row.decode(at: 1),
                           reasons: kinds.compactMap { Int($0).flatMap { names[$0] } })
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
