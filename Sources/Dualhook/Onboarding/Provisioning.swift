import Crypto
import Foundation
import HTTPClient
import JobQueue
import Meta

/// The part of onboarding that follows the code exchange, shared by the exchange job and by
/// the job that waits for a number: choose the numbers Meta shows usable, route the tenant's
/// webhooks to its URL (on the WABA, or on each number), then register or sync each number and
/// store the connections.
struct Provisioning {
    let meta: MetaAccess
    let store: ProvisioningStore
    let session: ProvisioningStore.Session
    let waba: String
    let token: String
    let context: JobContext
    /// How long in all a job may wait for Meta's rate limits (`step`): an exchange must end before
    /// its session is failed as lost (15 minutes); a session waiting for its number may wait as
    /// long as it waits for the number.
    var patience: TimeInterval = 480

    var graph: GraphClient { meta.graph }
    var routing: WebhookRouting { WebhookRouting(graph: graph, token: token, deadline: context.deadline) }

    /// The numbers this signup connects, each with its fields; empty when Meta shows none usable
    /// yet. The browser's number when it named one; after a Coexistence finish (which may name
    /// only the WABA) the WABA's numbers that are on the WhatsApp Business app, never the others;
    /// otherwise the WABA's numbers not live here yet (all of them when every one is). A number
    /// counts only once Meta shows its ownership verified: only then can it be registered.
    func usableNumbers(named phoneID: String?, expected: ConnectionMode) throws -> [GraphClient.PhoneNumber] {
        if let phoneID {
            let phone = try step("reading phone number \(phoneID)") { try graph.phoneNumber(phoneID, token: token, deadline: context.deadline) }
            return phone.isVerified || phone.is_on_biz_app == true ? [phone] : []
        }
        var phones = try step("reading the WABA's numbers") { try graph.phoneNumbers(waba: waba, token: token, deadline: context.deadline) }
        if expected == .coexistence {
            phones.removeAll { $0.is_on_biz_app != true }
        } else {
            phones.removeAll { !$0.isVerified }
        }
        let live = try store.liveNumbers(phones.map(\.id))
        if phones.contains(where: { !live.contains($0.id) }) { phones.removeAll { live.contains($0.id) } }
        return phones
    }

    /// Where the tenant's override was set, and where Meta routes the numbers it set it on.
    struct Routed {
        /// A WABA override Meta accepted: the tenant's siblings carry it.
        var wabaOverride = false
        /// Per number, where Meta routes it, as read back after setting its own override.
        var effective: [String: String?] = [:]
    }

    /// The tenant's override: on the WABA (its earlier override stays at Meta when this one is
    /// refused), or on each number with per-number routing (the WABA is only subscribed, and
    /// its siblings keep their own).
    @discardableResult
    func route(_ phones: [GraphClient.PhoneNumber]) throws -> Routed {
        var routed = Routed()
        switch session.webhookScope {
        case .waba:
            try step("setting the WABA's webhook override", failing: ProvisioningFailure.webhookSubscriptionFailed) {
                try routing.setWABAOverride(waba: waba, url: session.webhookOverrideURL, verifyToken: session.webhookVerifyToken)
            }
            routed.wabaOverride = true
        case .phoneNumber:
            try step("subscribing the app to the WABA", failing: ProvisioningFailure.webhookSubscriptionFailed) {
                try routing.ensureSubscribed(waba: waba)
            }
            for phone in phones {
                let found = try step("setting phone number \(phone.id)'s webhook override", failing: ProvisioningFailure.webhookSubscriptionFailed) {
                    try routing.setPhoneOverride(phone: phone.id, waba: waba, url: session.webhookOverrideURL,
                                                 verifyToken: session.webhookVerifyToken)
                }
                routed.effective[phone.id] = found.effective
            }
        }
        return routed
    }

    /// Registers or syncs each number, reads back where Meta routes it (unless `routed` read it
    /// already), and stores the connections with `onboarding.completed`.
    func finish(_ phones: [GraphClient.PhoneNumber], routed: Routed, expected: ConnectionMode, businessID: String?) throws {
        var numbers: [ProvisionedNumber] = []
        for phone in phones {
            var number = try prepare(phone, expected: expected)
            number.routing = try routed.effective[phone.id] ?? step("reading where Meta routes phone number \(phone.id)") {
                try routing.effectiveURL(phone: phone.id)
            }
            numbers.append(number)
        }
        try store.complete(session, waba: waba, businessID: businessID, token: token, numbers: numbers)
    }

    /// Registers a verified Cloud API number that is not yet (with a PIN kept across retries;
    /// Meta's limit of 10 registrations in 72 hours defers it instead of failing), or asks a
    /// Coexistence number's app for its contacts, then its history.
    func prepare(_ phone: GraphClient.PhoneNumber, expected: ConnectionMode) throws -> ProvisionedNumber {
        let mode = ConnectionMode.of(phone, expected: expected)
        var number = ProvisionedNumber(phone: phone, mode: mode, pin: session.registrationPins[phone.id], registered: false)
        switch mode {
        case .cloudAPI where ConnectionMode.needsRegistration(phone):
            if number.pin == nil {
                number.pin = ConnectionMode.newPIN()
                try store.keep(pin: number.pin!, phone: phone.id, for: session)
            }
            do {
                number.pinReplaced = try step("registering phone number \(phone.id)") {
                    try graph.registerKeepingPIN(phone: phone.id, pin: number.pin!, token: token, deadline: context.deadline, logger: context.logger)
                }
                number.registered = true
            } catch let failure as ProvisioningFailure where failure.graph?.isRegisterLimit == true {
                context.logger.info("registration deferred: Meta's limit of 10 in 72 hours", ["phone_number_id": phone.id])
                number.registrationDeferred = true
            }
        case .cloudAPI:
            number.registered = true
        case .coexistence:
            // Meta closing the window (the number was on the app longer than its 24 h before this
            // signup) connects it without what was not synced yet, as Meta allows no more.
            let outcome = try step("requesting the app's syncs for \(phone.id)") {
                try RequestSync.request(phone: phone.id, done: [:], graph: graph, token: token, context: context)
            }
            number.syncRequests = outcome.done
            number.syncWindowClosed = outcome.windowClosed
        case .unknown:
            break
        }
        return number
    }

    /// Runs one Meta call: a transient failure (5xx, throttling, no answer, a change Meta does
    /// not show back) is retried while attempts remain and is `meta_error` after the last; a
    /// refusal is `reason` at once.
    func step<T>(_ name: String, failing reason: String = ProvisioningFailure.metaError, _ body: () throws -> T) throws -> T {
        try Provisioning.step(name, context: context, failing: reason, patience: patience, body)
    }

    /// A throttled step waits for Meta, its attempt not counted, while the job has waited less than
    /// `patience` in all (an `exchanging` session is failed as lost after 15 minutes,
    /// `ExpireSessions`); after that it fails as any transient error on the last attempt would.
    static func step<T>(_ name: String, context: JobContext, failing reason: String = ProvisioningFailure.metaError,
                        patience: TimeInterval = 480, _ body: () throws -> T) throws -> T {
        let retryDelay = ExchangeCode.retryPolicy.delay(afterAttempt: context.attempt)
        do {
            return try body()
        } catch let error as GraphError {
            // Meta: "any subsequent requests made by your app will fail … until enough time has
            // passed for the call count to drop below the limit"
            // (https://developers.facebook.com/docs/graph-api/overview/rate-limiting/). A retry
            // a few seconds later fails again and spends the session's attempts, so the step
            // waits as long as the answer's headers say (half a minute when they say nothing).
            if let wait = error.waitBeforeRetry {
                if Date().timeIntervalSince(context.createdAt) + wait <= patience { throw JobError.waitingForMeta(error, name)! }
                context.logger.warning("Meta's wait outlasts what onboarding can wait", ["step": name, "wait_s": Int(wait)])
            }
            if error.isTransient && !context.isLastAttempt { throw JobError.retry(after: retryDelay, "\(name): \(error)") }
            throw ProvisioningFailure(reason: error.isTransient ? ProvisioningFailure.metaError : reason,
                                      message: "\(name): \(error)", graph: error)
        } catch let error as WebhookRouting.Mismatch {
            if !context.isLastAttempt { throw JobError.retry(after: retryDelay, "\(name): \(error)") }
            throw ProvisioningFailure(reason: reason, message: "\(name): \(error)")
        } catch let error as HTTPClientError {
            if !context.isLastAttempt { throw JobError.retry(after: retryDelay, "\(name): \(error)") }
            throw ProvisioningFailure(reason: ProvisioningFailure.metaError, message: "\(name): \(error)")
        }
    }

}

/// A number ready to be stored as a connection.
struct ProvisionedNumber {
    let phone: GraphClient.PhoneNumber
    let mode: ConnectionMode
    var pin: String?
    var registered: Bool
    /// Meta's registration limit was reached: a job registers it when the window has passed.
    var registrationDeferred = false
    /// The number had a two-step verification PIN of its own, now replaced by the kept one.
    var pinReplaced = false
    /// Where Meta routes the number's webhooks, read back after routing.
    var routing: String?
    /// Coexistence: `sync_type` → Meta's `request_id` for each sync done.
    var syncRequests: [String: String] = [:]
    /// Meta said no sync can be asked for any more: none is retried.
    var syncWindowClosed = false

    var syncDone: Bool { RequestSync.types.allSatisfy { syncRequests[$0] != nil } }
    var syncRequestsJSON: String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: syncRequests, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
    }
}
