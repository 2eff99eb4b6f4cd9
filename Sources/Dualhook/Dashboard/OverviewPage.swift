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
        var byStatus: [String: Int] = [:]
        for row in try db.sql("SELECT status, count(*) FROM connections WHERE account_id = \(account) GROUP BY status").rows {
            byStatus[try row.decode(at: 0)] = try row.decode(Int.self, at: 1)
        }
        let problems = try problemList(account: account, on: db)
        // The funnel and its failure reasons from one index-only scan (sql/017).
        var steps = [0, 0, 0, 0]
        var reasons: [(String, Int)] = []
        for row in try db.sql("""
            SELECT failure_reason, count(*), count(opened_at), count(exchanging_since),
                   count(*) FILTER (WHERE status IN ('completed', 'awaiting_number'))
            FROM onboarding_sessions WHERE account_id = \(account) AND created_at > now() - interval '30 days'
            GROUP BY failure_reason
            """).rows {
            for index in 0..<4 { steps[index] += try row.decode(Int.self, at: index + 1) }
            if let reason = try row.decode(String?.self, at: 0) { reasons.append((reason, try row.decode(Int.self, at: 1))) }
        }
        reasons.sort { $0.1 > $1.1 }
        let deliveries = try db.sql("""
            SELECT count(*) FILTER (WHERE delivery_status = 'delivered'), count(*) FILTER (WHERE delivery_status = 'failed'),
                   count(*) FILTER (WHERE delivery_status = 'pending')
            FROM events WHERE account_id = \(account) AND created_at > now() - interval '7 days'
            """)[0]
        let troubled = try db.sql("""
            SELECT url, CASE WHEN status = 'disabled' THEN 'disabled (' || COALESCE(disabled_reason, '') || ')' ELSE 'failing' END,
                   COALESCE(last_error, '')
            FROM event_endpoints WHERE account_id = \(account) AND (status = 'disabled' OR failing_since IS NOT NULL)
            ORDER BY created_at LIMIT 20
            """).rows

        let active = byStatus["active"] ?? 0, suspended = byStatus["suspended"] ?? 0, disconnected = byStatus["disconnected"] ?? 0
        // From the partial index of unhealthy connections (sql/017).
        let unhealthy = try db.sql("""
            SELECT count(*) FROM connections WHERE account_id = \(account) AND status IN ('active', 'suspended')
              AND (health_status = 'BLOCKED' OR quality_rating = 'RED')
            """).scalar(Int.self) ?? 0
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
        for endpoint in troubled.reversed() {
            problemRows.insert("""
                <tr><td><a href="/dashboard/events">Event endpoint \(try endpoint.decode(String.self, at: 0))</a></td>\
                <td class="bad">\(try endpoint.decode(String.self, at: 1)): \(try endpoint.decode(String.self, at: 2))</td></tr>
                """, at: 0)
        }
        // The trial ended without a plan and the plan stops onboarding: no link can be made.
        if try PlanStore.onboardingBlocked(accountID: account, on: db) {
            problemRows.insert("""
                <tr><td><a href="/dashboard/usage">Onboarding</a></td>\
                <td class="bad">stopped: the trial has ended with no plan chosen; ask the operator to set one</td></tr>
                """, at: 0)
        }
        let problemSection: HTML = problemRows.isEmpty
            ? "<section><h2>Problems</h2><p class=\"ok\">Nothing needs attention.</p></section>"
            : "<section><h2>Problems</h2><div class=\"scroll\"><table><tr><th>what</th><th>why</th></tr>\(problemRows)</table></div></section>"

        let funnel = [("Links created", steps[0]), ("Opened by a person", steps[1]), ("Finished Meta's sign-up", steps[2]), ("Connected", steps[3])]
        let reasonRows = reasons.map { "<tr><td>\($0.0)</td><td>\($0.1)</td></tr>" as HTML }
        let delivered: Int = try deliveries.decode(at: 0), failed: Int = try deliveries.decode(at: 1), pending: Int = try deliveries.decode(at: 2)
        let rate = delivered + failed == 0 ? "no deliveries yet" : String(format: "%.1f%% delivered", 100 * Double(delivered) / Double(delivered + failed))
        let body: HTML = """
            \(cards)
            \(problemSection)
            <section><h2>Onboarding, last 30 days</h2>\(FunnelChart.svg(funnel))
            \(reasonRows.isEmpty ? "" : "<h2>Why sessions failed</h2><table><tr><th>reason</th><th>sessions</th></tr>\(reasonRows)</table>" as HTML)
            </section>
            <section><h2>Event deliveries, last 7 days</h2><p><b>\(rate)</b> · \(delivered) delivered, \(failed) failed, \(pending) waiting</p></section>
            """
        return DashboardLayout.page("Overview", session: session, here: "/dashboard", body: body)
    }

    /// Live connections that need attention, worst first: suspended, blocked, RED quality,
    /// routed elsewhere by Meta, heartbeat overdue, token expiring within 7 days.
    static func problemList(account: String, on db: Connection) throws -> [Problem] {
        // Each kind of problem reads at most 50 rows, most urgent first, from a partial index of
        // its own (sql/017); the 50 worst overall are then read whole, so each shows every
        // problem it has. Ranked by the worst kind, then by urgency within it.
        let period = Heartbeat.period
        return try db.sql("""
            WITH flagged AS (
                (SELECT id, 1 AS kind, extract(epoch FROM suspended_at) AS urgency FROM connections
                 WHERE account_id = \(account) AND status = 'suspended' ORDER BY suspended_at LIMIT 50)
                UNION ALL
                (SELECT id, 2, 0 FROM connections
                 WHERE account_id = \(account) AND status IN ('active', 'suspended') AND (health_status = 'BLOCKED' OR quality_rating = 'RED')
                 ORDER BY id LIMIT 100)
                UNION ALL
                (SELECT id, 4, 0 FROM connections
                 WHERE account_id = \(account) AND status IN ('active', 'suspended') AND routing_checked_at IS NOT NULL
                   AND routing_effective_url IS DISTINCT FROM webhook_override_url
                 ORDER BY id LIMIT 50)
                UNION ALL
                (SELECT id, 5, extract(epoch FROM COALESCE(heartbeat_confirmed_at, created_at)) FROM connections
                 WHERE account_id = \(account) AND status IN ('active', 'suspended') AND connection_mode = 'coexistence'
                   AND COALESCE(heartbeat_confirmed_at, created_at) < now() - make_interval(secs => \(period))
                 ORDER BY COALESCE(heartbeat_confirmed_at, created_at) LIMIT 50)
                UNION ALL
                (SELECT id, 6, extract(epoch FROM token_expires_at) FROM connections
                 WHERE account_id = \(account) AND status IN ('active', 'suspended') AND token_expires_at IS NOT NULL
                   AND token_expires_at < now() + interval '7 days'
                 ORDER BY token_expires_at LIMIT 50)),
            worst AS (SELECT DISTINCT ON (id) id, kind, urgency FROM flagged ORDER BY id, kind, urgency),
            top AS (SELECT id, kind, urgency FROM worst ORDER BY kind, urgency, id LIMIT 50)
            SELECT c.id, coalesce(c.display_phone_number, c.phone_number_id) || ' · ' || c.tenant_id,
                   c.status = 'suspended', c.health_status = 'BLOCKED', c.quality_rating = 'RED',
                   c.routing_checked_at IS NOT NULL AND c.routing_effective_url IS DISTINCT FROM c.webhook_override_url,
                   c.connection_mode = 'coexistence' AND COALESCE(c.heartbeat_confirmed_at, c.created_at) < now() - make_interval(secs => \(period)),
                   c.token_expires_at IS NOT NULL AND c.token_expires_at < now() + interval '7 days'
            FROM top t JOIN connections c ON c.id = t.id
            ORDER BY t.kind, t.urgency, t.id
            """).rows.map { row in
            let names = ["suspended", "blocked", "quality RED", "routing shadowed", "heartbeat overdue", "token expiring"]
            var reasons: [String] = []
            for (index, name) in names.enumerated() where try row.decode(Bool?.self, at: index + 2) == true { reasons.append(name) }
            return Problem(connectionID: try row.decode(at: 0), label: try row.decode(at: 1), reasons: reasons)
        }
    }
}

/// A horizontal bar chart drawn on the server: each step's count, and its share of the first.
/// At phone width it keeps a readable size and scrolls in its own box (scaled to the screen,
/// its 11 px labels shrank to about 6 px).
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
            <div class="scroll"><svg role="img" aria-label="Onboarding funnel" viewBox="0 0 \(width) \(steps.count * rowHeight)" width="100%" preserveAspectRatio="xMinYMin meet" class="funnel">\(bars)</svg></div>
            """
    }
}

/// A small line of values drawn on the server, its peak labelled.
enum Sparkline {
    static func svg(_ values: [Int], label: String, width: Int = 180, height: Int = 28) -> HTML {
        let peak = max(1, values.max() ?? 1)
        let step = values.count > 1 ? Double(width) / Double(values.count - 1) : Double(width)
        let points = values.enumerated().map { index, value in
            String(format: "%.1f,%.1f", Double(index) * step, Double(height - 2) - Double(value) / Double(peak) * Double(height - 4))
        }.joined(separator: " ")
        return """
            <svg role="img" aria-label="\(label)" width="\(width + 40)" height="\(height)" viewBox="0 0 \(width + 40) \(height)">\
            <polyline fill="none" stroke="#1565c0" stroke-width="1.5" points="\(points)"></polyline>\
            <text x="\(width + 4)" y="12">\(values.max() ?? 0)</text></svg>
            """
    }
}
