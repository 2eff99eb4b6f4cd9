import Crypto
import Foundation
import JobQueue
import Meta

/// A session in `awaiting_number`: its WABA is subscribed with the tenant's override, but Meta
/// showed no usable number at signup (`FINISH_ONLY_WABA`, a number whose ownership is not
/// verified yet, or a Coexistence number not yet shown on the app). Meta is asked again, 30 s
/// after and then at growing intervals; once a number is usable, onboarding finishes as it
/// would have at signup. When the link's expiry plus 7 days passes first, the session fails
/// with `no_phone_number` and the WABA is released.
public struct AwaitNumber: JobKind {
    public struct Args: Codable, Sendable {
        let sessionId: String
        let wabaId: String
        var phoneNumberId: String?
        var businessId: String?
        var event: String?
    }
    public static let kind = "onboarding.await_number"
    public static let queue = "meta"
    public static let timeout: TimeInterval = 40
    /// For transient Meta failures; waiting for the number itself is a snooze, not an attempt.
    public static let retryPolicy = RetryPolicy.fixed([5, 30, 120, 600])
    static let firstPoll: TimeInterval = 30
    /// How long after the link's expiry a number may still appear.
    static let grace: TimeInterval = 7 * 86_400

    /// 30 s, 1, 2, 5, 10 and 30 minutes after the first look, then hourly.
    static func nextPoll(waited: TimeInterval) -> TimeInterval {
        switch waited {
        case ..<60: 30
        case ..<180: 60
        case ..<600: 120
        case ..<1800: 300
        case ..<3600: 600
        case ..<7200: 1800
        default: 3600
        }
    }

    let meta: MetaAccess

    public init(_ meta: MetaAccess) { self.meta = meta }

    public func perform(_ args: Args, context: JobContext) throws {
        let store = ProvisioningStore(database: context.database, vault: meta.vault)
        guard let session = try store.provisioning(args.sessionId, waba: args.wabaId, phone: args.phoneNumberId, context: context),
              session.status == "awaiting_number",
              let token = session.exchangedToken else { return }
        if Date() > session.expiresAt.addingTimeInterval(AwaitNumber.grace) {
            try ExchangeCode.end(session, ProvisioningFailure(reason: ProvisioningFailure.noPhoneNumber,
                                                              message: "Meta showed no verified phone number on WABA \(args.wabaId)"),
                                 waba: args.wabaId, phone: args.phoneNumberId, token: token, overridden: false, store: store,
                                 graph: meta.graph, context: context)
            return
        }
        var provisioning = Provisioning(meta: meta, store: store, session: session, waba: args.wabaId, token: token, context: context)
        // Until the session's wait for a number ends (its link's expiry plus the grace).
        provisioning.patience = session.expiresAt.addingTimeInterval(AwaitNumber.grace).timeIntervalSince(context.createdAt)
        let expected = ConnectionMode.expected(event: args.event, coexistenceSession: session.coexistence)
        do {
            let phones = try provisioning.usableNumbers(named: args.phoneNumberId, expected: expected)
            guard !phones.isEmpty else {
                let waited = Date().timeIntervalSince(session.awaitingSince ?? Date())
                throw JobError.snooze(after: AwaitNumber.nextPoll(waited: waited), "Meta shows no usable number on WABA \(args.wabaId) yet")
            }
            // The WABA's own override was set when the session began to wait.
            let routed = session.webhookScope == .phoneNumber ? try provisioning.route(phones) : Provisioning.Routed()
            try provisioning.finish(phones, routed: routed, expected: expected, businessID: args.businessId)
        } catch let failure as ProvisioningFailure {
            try ExchangeCode.end(session, failure, waba: args.wabaId, phone: args.phoneNumberId, token: token, overridden: false,
                                 store: store, graph: meta.graph, context: context)
        }
    }
}
