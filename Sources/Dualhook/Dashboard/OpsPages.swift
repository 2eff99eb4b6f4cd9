import Foundation
import HTTPServer
import JobQueue
import Postgres

/// The operator console: queues from the engine's roll-ups, jobs by queue, kind, state and
/// argument with their attempts, bulk retry and cancel (the count shown first, audited), and
/// the accounts. Operators never see a token, secret or key.
enum OpsPages {
    static func queues(_ context: APIContext) throws -> Response {
        let session = try DashboardAccess.operator(context)
        let paused = try JobAdmin.pausedQueues(on: context.connection)
        let stats = try JobAdmin.stats(on: context.connection)
        let throughput = try JobAdmin.throughput(minutes: 60, on: context.connection)
        let names = Set(stats.map(\.queue)).union(paused.keys).sorted()
        let rows = names.map { queue -> HTML in
            let q = stats.first { $0.queue == queue }
            let link = "/ops/jobs?queue=\(queue)"
            let pausedAt = paused[queue]
            let toggle: HTML = """
                <form class="inline" method="post" action="/ops/queues/\(queue)/\(pausedAt == nil ? "pause" : "resume")">\(DashboardLayout.csrfField(session.csrfToken))
                <button type="submit" id="\(pausedAt == nil ? "pause" : "resume")-\(queue)"\(pausedAt == nil ? " class=\"danger\"" : "" as HTML)>\(pausedAt == nil ? "Pause" : "Resume")</button></form>
                """
            return """
                <tr><td><a href="\(link)">\(queue)</a>\(pausedAt.map { " <b class=\"bad\">paused since \(Timestamps.short($0))</b>" as HTML } ?? "")</td>
                <td>\(q?.available ?? 0)</td><td>\(q?.scheduled ?? 0)</td><td>\(q?.running ?? 0)</td><td>\(q?.completed ?? 0)</td>
                <td class="\((q?.discarded ?? 0) > 0 ? "bad" : "")"><a href="\(link)&amp;state=discarded">\(q?.discarded ?? 0)</a></td><td>\(q?.cancelled ?? 0)</td>
                <td>\(Sparkline.svg(throughput[queue] ?? Array(repeating: 0, count: 60), label: "\(queue): jobs completed per minute, last hour"))</td><td>\(toggle)</td></tr>
                """
        }
        let reports = try JobAdmin.workers(on: context.connection)
        let workers = reports.map { worker -> HTML in
            let state: HTML = worker.isLive ? "live" : "<b class=\"bad\">silent since \(Timestamps.short(worker.seenAt))</b>"
            return """
                <tr><td>\(worker.id)</td><td>\(worker.queues.replacingOccurrences(of: ",", with: ", "))</td><td>\(worker.running)</td>
                <td>\(Timestamps.short(worker.startedAt))</td><td>\(state)</td></tr>
                """
        }
        // A queue no live worker serves: its jobs wait however healthy the rest looks.
        let served = Set(reports.filter(\.isLive).flatMap(\.queueNames))
        let unserved = names.filter { !served.contains($0) }
        let warning: HTML = unserved.isEmpty ? "" : """
            <div class="problem" role="alert" id="unserved">No live worker serves \(unserved.joined(separator: ", ")): their jobs wait until one is started (<code>dualhook work --queues …</code>).</div>
            """
        let body: HTML = """
            \(warning)<section><div class="scroll"><table id="queues"><tr><th>queue</th><th>available</th><th>scheduled</th><th>running</th><th>completed</th><th>discarded</th><th>cancelled</th><th>completed / min, last hour</th><th></th></tr>
            \(rows)</table></div></section>
            <section><h2>Workers</h2><p class="muted">Each worker process reports every few seconds; one silent for 20 s has died or cannot reach the database. A worker stopped cleanly leaves the list.</p>
            <div class="scroll"><table id="workers"><tr><th>worker (host:pid)</th><th>queues:slots</th><th>running</th><th>started</th><th>state</th></tr>
            \(workers)</table></div>\(workers.isEmpty ? "<p class=\"muted\">No worker has reported in the last day.</p>" : "" as HTML)</section>
            """
        return DashboardLayout.page("Queues", session: session, here: "/ops", body: body)
    }

    /// Pauses or resumes a queue (audited): a paused queue's jobs wait; running ones finish.
    /// Which of the two is the route's to say: a path's suffix read `/resume/` as a pause.
    static func pause(_ context: APIContext, resuming: Bool) throws -> Response {
        let session = try DashboardAccess.operator(context)
        let queue = context.request.parameters["queue"] ?? ""
        guard !queue.isEmpty, queue.count <= 64, queue.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw APIError.validationFailed(param: "queue", "No such queue.")
        }
        if resuming {
            try JobAdmin.resume(queue: queue, on: context.connection)
        } else {
            try JobAdmin.pause(queue: queue, by: session.user.email, on: context.connection)
        }
        try AuditTrail.record(resuming ? "queue.resume" : "queue.pause", target: queue, accountID: nil, user: session.user,
                              clientIP: context.request.clientIP, on: context.connection)
        return DashboardLayout.redirect("/ops")
    }

    static func filter(_ values: [String: String]) -> JobAdmin.Filter {
        func value(_ name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }
        var filter = JobAdmin.Filter(queue: value("queue"), kind: value("kind"),
                                     state: value("state").flatMap { JobAdmin.listStates.contains($0) ? $0 : nil })
        if let name = value("argName"), let argument = value("argValue"),
           name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
            filter.argument = (name, argument)
        }
        return filter
    }

    static func filterFields(_ filter: JobAdmin.Filter) -> HTML {
        """
        <input type="hidden" name="queue" value="\(filter.queue ?? "")"><input type="hidden" name="kind" value="\(filter.kind ?? "")">
        <input type="hidden" name="state" value="\(filter.state ?? "")"><input type="hidden" name="argName" value="\(filter.argument?.name ?? "")">
        <input type="hidden" name="argValue" value="\(filter.argument?.value ?? "")">
        """
    }

    static func jobs(_ context: APIContext, notice: HTML = "", filter given: JobAdmin.Filter? = nil) throws -> Response {
        let session = try DashboardAccess.operator(context)
        let filter = given ?? filter(context.request.query)
        let jobs = try JobAdmin.list(filter, limit: 100, on: context.connection)
        let rows = jobs.map { job -> HTML in
            """
            <tr><td><a href="/ops/jobs/\(Int(job.id))">\(Int(job.id))</a></td><td>\(job.queue)</td><td>\(job.kind)</td><td>\(job.state)</td>
            <td>\(job.attempt)/\(job.maxAttempts)</td><td>\(Timestamps.short(job.runAt))</td><td>\(String((job.lastError ?? "").prefix(80)))</td></tr>
            """
        }
        let states = ([""] + JobAdmin.listStates).map { value -> HTML in
            "<option value=\"\(value)\"\(value == (filter.state ?? "") ? " selected" : "")>\(value.isEmpty ? "any state" : value)</option>"
        }
        let body: HTML = """
            \(notice)<section><form method="get" action="/ops/jobs">
            <label for="queue">Queue</label><input id="queue" name="queue" value="\(filter.queue ?? "")">
            <label for="kind">Kind</label><input id="kind" name="kind" value="\(filter.kind ?? "")">
            <label for="state">State</label><select id="state" name="state">\(states)</select>
            <label for="argName">Argument</label><input id="argName" name="argName" placeholder="accountId" value="\(filter.argument?.name ?? "")">
            <input id="argValue" name="argValue" aria-label="argument value" placeholder="acc_…" value="\(filter.argument?.value ?? "")">
            <p><button type="submit">Filter</button></p></form>
            <form method="post" action="/ops/jobs/bulk">\(DashboardLayout.csrfField(session.csrfToken))\(filterFields(filter))
            <button type="submit" name="action" value="retry" id="bulk-retry">Retry all that match…</button>
            <button type="submit" name="action" value="cancel" class="danger" id="bulk-cancel">Cancel all that match…</button></form></section>
            <section><div class="scroll"><table id="jobs"><tr><th>job</th><th>queue</th><th>kind</th><th>state</th><th>attempt</th><th>run at</th><th>last error</th></tr>\(rows)</table></div>
            \(jobs.isEmpty ? "<p class=\"muted\">No job matches.</p>" : "" as HTML)</section>
            """
        return DashboardLayout.page("Jobs", session: session, here: "/ops/jobs", body: body)
    }

    /// First the count and a confirmation; with `confirm=yes`, the action, audited.
    static func bulk(_ context: APIContext) throws -> Response {
        let session = try DashboardAccess.operator(context)
        let form = Form(context.request.body)
        let filter = filter(form.fields)
        guard let action = form["action"], action == "retry" || action == "cancel" else {
            throw APIError.validationFailed(param: "action", "Choose retry or cancel.")
        }
        guard form["confirm"] == "yes", let maxID = form["maxID"].flatMap(Int64.init) else {
            // The newest job now: what the operator confirms is what was counted.
            let maxID = try JobAdmin.newestID(on: context.connection)
            var counted = filter
            counted.maxID = maxID
            let count = try JobAdmin.count(counted, changedBy: action, on: context.connection)
            return DashboardLayout.page("Confirm", session: session, here: "/ops/jobs", body: """
                <section><p id="bulk-count">\(action == "retry" ? "Retry" : "Cancel") <b>\(count)</b> matching jobs?</p>
                <form method="post" action="/ops/jobs/bulk">\(DashboardLayout.csrfField(session.csrfToken))\(filterFields(filter))
                <input type="hidden" name="action" value="\(action)"><input type="hidden" name="confirm" value="yes">
                <input type="hidden" name="maxID" value="\(String(maxID))">
                <button type="submit" id="confirm-bulk">\(action == "retry" ? "Retry" : "Cancel") \(count) jobs</button> <a href="/ops/jobs">Back</a></form></section>
                """)
        }
        // Run as a job, in batches: a filter can match a million jobs.
        var counted = filter
        counted.maxID = maxID
        let count = try JobAdmin.count(counted, changedBy: action, on: context.connection)
        let id = try JobQueue.enqueue(BulkJobAction.self, .init(action: action, filter: filter, maxID: maxID), on: context.connection)
        try AuditTrail.record("jobs.\(action)", target: id.map { "job \($0)" }, accountID: nil, user: session.user,
                              detail: ["queue": filter.queue ?? "", "kind": filter.kind ?? "", "state": filter.state ?? "",
                                       "argument": filter.argument.map { "\($0.name)=\($0.value)" } ?? "", "count": String(count)],
                              clientIP: context.request.clientIP, on: context.connection)
        return try jobs(context, notice: """
            <div class="notice" role="status" id="bulk-done">\(action == "retry" ? "Retrying" : "Cancelling") \(count) jobs (job \(id.map { String($0) } ?? "—"), in batches).</div>
            """, filter: filter)
    }

    static func job(_ context: APIContext) throws -> Response {
        let session = try DashboardAccess.operator(context)
        guard let id = Int64(context.request.parameters["id"] ?? ""), let job = try JobAdmin.detail(id: id, on: context.connection) else {
            throw APIError.notFound("job")
        }
        let args = (try? JSONSerialization.jsonObject(with: Data(job.argsJSON.utf8))).map { JobAdmin.withoutSecrets($0) } ?? [:]
        let argsText = (try? JSONSerialization.data(withJSONObject: args, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        let errors = ((try? JSONSerialization.jsonObject(with: Data(job.errorsJSON.utf8))) as? [[String: Any]] ?? []).map { error -> HTML in
            "<tr><td>\(error["attempt"].map { "\($0)" } ?? "")</td><td>\(error["at"] as? String ?? "")</td><td>\(error["error"] as? String ?? "")</td></tr>"
        }
        let s = job.summary
        let body: HTML = """
            <section><p><b>\(s.kind)</b> on \(s.queue) · \(s.state) · attempt \(s.attempt) of \(s.maxAttempts) · run at \(Timestamps.short(s.runAt))</p>
            <pre class="secret" id="job-args">\(argsText)</pre></section>
            <section><h2>Attempts that failed</h2><table><tr><th>attempt</th><th>at</th><th>error</th></tr>\(errors)</table></section>
            """
        return DashboardLayout.page("Job \(Int(id))", session: session, here: "/ops/jobs", body: body)
    }

    static func sweeps(_ context: APIContext, notice: HTML = "") throws -> Response {
        let session = try DashboardAccess.operator(context)
        let rows = try JobAdmin.sweepRuns(context.configuration.sweeps, on: context.connection).map { run -> HTML in
            """
            <tr><td>\(run.name)</td><td>every \(Int(run.interval)) s</td><td>\(run.lastPeriod.map(Timestamps.short) ?? "never")</td>
            <td>\(run.lastState ?? "—")</td><td>\(run.nextRun.map(Timestamps.short) ?? "at the next tick")</td>
            <td><form class="inline" method="post" action="/ops/sweeps/\(run.name)/run">\(DashboardLayout.csrfField(session.csrfToken))
            <button type="submit" id="run-\(run.name)">Run now</button></form></td></tr>
            """
        }
        return DashboardLayout.page("Sweeps", session: session, here: "/ops/sweeps", body: """
            \(notice)<section><div class="scroll"><table id="sweeps"><tr><th>sweep</th><th>schedule</th><th>last period</th><th>its job</th><th>next</th><th></th></tr>\(rows)</table></div></section>
            """)
    }

    static func runSweep(_ context: APIContext) throws -> Response {
        let session = try DashboardAccess.operator(context)
        let name = context.request.parameters["name"] ?? ""
        guard let sweep = context.configuration.sweeps.first(where: { $0.name == name }) else { throw APIError.notFound("sweep") }
        let id = try JobAdmin.runSweepNow(sweep, on: context.connection)
        try AuditTrail.record("sweep.run", target: name, accountID: nil, user: session.user, clientIP: context.request.clientIP,
                              on: context.connection)
        return try sweeps(context, notice: "<div class=\"notice\" role=\"status\" id=\"sweep-queued\">\(name) queued as job \(id.map { String($0) } ?? "—").</div>")
    }

    static func accounts(_ context: APIContext) throws -> Response {
        let session = try DashboardAccess.operator(context)
        let endpoints = try EventEndpointStore.healthByAccount(on: context.connection)
        let rows = try AccountStore.list(on: context.connection).map { account -> HTML in
            """
            <tr><td>\(account.accountId)</td><td>\(account.name)</td><td>\(account.displayName ?? "")</td><td>\(account.liveKeys)</td>
            <td>\(account.activeConnections)</td><td id="endpoints-\(account.accountId)">\(OpsPages.describe(endpoints[account.accountId]))</td>
            <td><a href="/ops/jobs?argName=accountId&amp;argValue=\(account.accountId)">jobs</a></td></tr>
            """
        }
        return DashboardLayout.page("Accounts", session: session, here: "/ops/accounts", body: """
            <section><div class="scroll"><table><tr><th>account</th><th>name</th><th>display name</th><th>live keys</th><th>active numbers</th>
            <th>event endpoints</th><th></th></tr>\(rows)</table></div></section>
            """)
    }

    /// An account's endpoints in a few words: how many, and those failing now or disabled
    /// (their events held), which an operator looks for first.
    static func describe(_ health: EventEndpointStore.Health?) -> String {
        guard let health, health.total > 0 else { return "none" }
        var parts = ["\(health.total)"]
        if health.failing > 0 { parts.append("\(health.failing) failing") }
        if health.disabled > 0 { parts.append("\(health.disabled) disabled") }
        if parts.count == 1 { parts.append("healthy") }
        return parts.joined(separator: ", ")
    }
}
