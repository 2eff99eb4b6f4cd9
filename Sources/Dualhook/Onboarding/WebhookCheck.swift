import Foundation

/// The job that checks a session's override URL the way Meta will (GET with `hub.mode`,
/// `hub.verify_token`, `hub.challenge`). Enqueued at session creation on the `onboarding`
/// queue; its handler is part of the onboarding flow's provisioning work.
enum WebhookCheck {
    static let kind = "onboarding.webhook_check"
    static let queue = "onboarding"
    static let timeout: TimeInterval = 20
    static let maxAttempts = 3
}
