import HTTPServer

/// Every page of the dashboard (`/dashboard`) and the operator console (`/ops`).
enum DashboardRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        SignInRoutes.register(&router)
        router.add("GET", "/dashboard", RouteEntry(.dashboard, OverviewPage.render))
        router.add("GET", "/dashboard/connections", RouteEntry(.dashboard, ConnectionPages.list))
        router.add("GET", "/dashboard/connections/{id}", RouteEntry(.dashboard, ConnectionPages.detail))
        router.add("POST", "/dashboard/connections/{id}/refresh", RouteEntry(.dashboard, ConnectionPages.refresh))
        router.add("POST", "/dashboard/connections/{id}/disconnect", RouteEntry(.dashboard, ConnectionPages.disconnect))
        router.add("POST", "/dashboard/connections/{id}/webhook", RouteEntry(.dashboard, ConnectionPages.changeWebhook))
        router.add("POST", "/dashboard/connections/{id}/heartbeat", RouteEntry(.dashboard, ConnectionPages.confirmHeartbeat))
        router.add("GET", "/dashboard/sessions", RouteEntry(.dashboard) { try AccountPages.sessions($0) })
        router.add("POST", "/dashboard/sessions", RouteEntry(.dashboard, AccountPages.createLink))
        router.add("GET", "/dashboard/events", RouteEntry(.dashboard, AccountPages.events))
        router.add("GET", "/dashboard/events/{id}", RouteEntry(.dashboard, AccountPages.event))
        router.add("POST", "/dashboard/events/{id}/redeliver", RouteEntry(.dashboard, AccountPages.redeliver))
        router.add("POST", "/dashboard/event-endpoints/{id}/enable", RouteEntry(.dashboard, AccountPages.enableEndpoint))
        router.add("POST", "/dashboard/event-endpoints/{id}/disable", RouteEntry(.dashboard, AccountPages.disableEndpoint))
        router.add("GET", "/dashboard/keys", RouteEntry(.dashboard) { try AccountPages.keys($0) })
        router.add("POST", "/dashboard/keys", RouteEntry(.dashboard, AccountPages.createKey))
        router.add("POST", "/dashboard/keys/{id}/revoke", RouteEntry(.dashboard, AccountPages.revokeKey))
        router.add("GET", "/dashboard/settings", RouteEntry(.dashboard) { try SettingsPages.show($0) })
        router.add("POST", "/dashboard/settings/totp", RouteEntry(.dashboard, SettingsPages.enableTOTP))
        router.add("POST", "/dashboard/settings/signing-secret", RouteEntry(.dashboard, SettingsPages.rotateSecret))
        router.add("GET", "/dashboard/audit", RouteEntry(.dashboard, AccountPages.audit))
        router.add("GET", "/dashboard/usage", RouteEntry(.dashboard, UsagePage.render))
        router.add("GET", "/ops", RouteEntry(.dashboard, OpsPages.queues))
        router.add("POST", "/ops/queues/{queue}/pause", RouteEntry(.dashboard) { try OpsPages.pause($0, resuming: false) })
        router.add("POST", "/ops/queues/{queue}/resume", RouteEntry(.dashboard) { try OpsPages.pause($0, resuming: true) })
        router.add("GET", "/ops/jobs", RouteEntry(.dashboard) { try OpsPages.jobs($0) })
        router.add("POST", "/ops/jobs/bulk", RouteEntry(.dashboard, OpsPages.bulk))
        router.add("GET", "/ops/jobs/{id}", RouteEntry(.dashboard, OpsPages.job))
        router.add("GET", "/ops/accounts", RouteEntry(.dashboard, OpsPages.accounts))
        router.add("GET", "/ops/sweeps", RouteEntry(.dashboard) { try OpsPages.sweeps($0) })
        router.add("POST", "/ops/sweeps/{name}/run", RouteEntry(.dashboard, OpsPages.runSweep))
    }
}
