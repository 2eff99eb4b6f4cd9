import Foundation
import Meta

/// Why provisioning stopped for good. The session fails with `reason`, one of API.md's
/// `onboarding.failed` reasons; `message` names the step and Meta's error, never a token.
struct ProvisioningFailure: Error, CustomStringConvertible {
    let reason: String
    let message: String
    var graph: GraphError?
    /// The override URL of the tenant that holds the WABA, named only within one account.
    var existingWebhookOverrideUrl: String?

    var description: String { "\(reason): \(message)" }

    static let oauthExchangeFailed = "oauth_exchange_failed"
    static let wabaWebhookConflict = "waba_webhook_conflict"
    static let webhookSubscriptionFailed = "webhook_subscription_failed"
    static let metaError = "meta_error"
    /// The WABA never showed a verified number before the link's expiry plus 7 days.
    static let noPhoneNumber = "no_phone_number"
    /// The person reported an error in Meta's window.
    static let signupError = "signup_error"

    /// Every `onboarding.failed` reason of API.md.
    static let reasons: Set<String> = ["expired", "cancelled", oauthExchangeFailed, wabaWebhookConflict, webhookSubscriptionFailed,
                                       metaError, noPhoneNumber, signupError]
}
