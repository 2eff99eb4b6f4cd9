/// Every event type an account receives (the `type` of an event and `X-Dualhook-Event`).
enum EventType: String, CaseIterable, Sendable, Encodable {
    case onboardingStarted = "onboarding.started"
    case onboardingCompleted = "onboarding.completed"
    case onboardingFailed = "onboarding.failed"
    case onboardingAwaitingNumber = "onboarding.awaiting_number"
    /// The tenant's override URL did not pass Meta's handshake; onboarding would fail at Meta.
    case onboardingWebhookCheckFailed = "onboarding.webhook_check_failed"
    case connectionDisconnected = "connection.disconnected"
    case connectionSuspended = "connection.suspended"
    case connectionResumed = "connection.resumed"
    case connectionModeResolved = "connection.mode_resolved"
    case connectionHealthChanged = "connection.health_changed"
    case connectionTokenExpiring = "connection.token_expiring"
    case heartbeatDueSoon = "connection.heartbeat.due_soon"
    case heartbeatOverdue = "connection.heartbeat.overdue"
    case heartbeatConfirmed = "connection.heartbeat.confirmed"
    case accountTrialEnding = "account.trial_ending"
    case usageThreshold = "usage.threshold"
    /// An event endpoint kept failing: sent on its first and third day of failures.
    case endpointWarning = "endpoint.warning"
    /// An event endpoint answered `410 Gone`, or failed every attempt for 5 days.
    case endpointDisabled = "endpoint.disabled"
    case endpointEnabled = "endpoint.enabled"
    /// Asked for by the account (`POST …/event-endpoints/{id}/test`): to that endpoint only.
    case endpointTest = "endpoint.test"

    /// Whether `data` carries a `tenantId`: account-level events (plans, usage, endpoints) do not.
    var isAboutTenant: Bool {
        switch self {
        case .accountTrialEnding, .usageThreshold, .endpointWarning, .endpointDisabled, .endpointEnabled, .endpointTest: false
        default: true
        }
    }
}
