import Foundation
import HTTPServer

/// `/dashboard/usage`: the month's connection-day ledger and what it will cost, as the API's
/// `GET /api/v1/usage` computes it.
enum UsagePage {
    static func render(_ context: APIContext) throws -> Response {
        let (session, account) = try DashboardAccess.member(context)
        let period = try UsageRoutes.period(context.request.query["period"].flatMap { $0.isEmpty ? nil : $0 })
        guard let (plan, trialEndsAt, chosen) = try PlanStore.of(accountID: account, on: context.connection) else { throw APIError.notFound("account") }
        let usage = try UsageLedger.statement(accountID: account, plan: plan, trialEndsAt: trialEndsAt, period: period, on: context.connection)
        let rows = usage.connections.map { line -> HTML in
            "<tr><td><a href=\"/dashboard/connections/\(line.connectionId)\">\(line.connectionId)</a></td><td>\(line.tenantId)</td><td>\(line.activeDays)</td></tr>"
        }
        let previous = BillingPeriod(containing: period.start.addingTimeInterval(-86_400)).text
        let trial: HTML
        if chosen {
            trial = ""
        } else if trialEndsAt > Date() {
            trial = "<p class=\"muted\">Trial until \(Timestamps.short(trialEndsAt)); no plan chosen yet.</p>"
        } else if try PlanStore.onboardingBlocked(accountID: account, on: context.connection) {
            trial = "<p class=\"bad\">The trial ended \(Timestamps.short(trialEndsAt)) with no plan chosen: new onboarding links are refused until the operator sets a plan.</p>"
        } else {
            trial = "<p class=\"muted\">The trial ended \(Timestamps.short(trialEndsAt)); no plan chosen yet.</p>"
        }
        let body: HTML = """
            <section><p><a href="/dashboard/usage?period=\(previous)">← \(previous)</a> · <b>\(period.text)</b></p>\(trial)
            <div class="cards">
            <div class="card"><b>\(usage.connectionDays)</b>connection-days</div>
            <div class="card"><b>\(usage.billableConnections)</b>billable connections (÷ \(period.days) days)</div>
            <div class="card"><b>\(usage.extraConnections)</b>over the \(usage.plan.includedConnections) included</div>
            <div class="card"><b id="estimated-amount">\(usage.estimatedAmount) \(usage.plan.currency)</b>estimated (\(usage.plan.name): \(usage.plan.monthlyPrice) a month + \(usage.plan.extraConnectionPrice) per extra)</div>
            </div></section>
            <section><h2>Ledger</h2><div class="scroll"><table id="ledger"><tr><th>connection</th><th>tenant</th><th>active days</th></tr>\(rows)</table></div></section>
            """
        return DashboardLayout.page("Usage", session: session, here: "/dashboard/usage", body: body)
    }
}
