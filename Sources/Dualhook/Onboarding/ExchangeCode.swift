import Crypto
import Foundation
import HTTPClient
import JobQueue
import Meta

/// From the code the browser handed over to a live connection: exchange the code (Meta's code
/// lives 30 s, so this runs on the `onboarding` queue ahead of everything), claim the WABA for
/// the tenant, read the numbers, subscribe and then override the WABA's webhooks, register
/// Cloud API numbers or request the app's sync for Coexistence numbers, and store the
/// connection with its token sealed. Each Meta call is safe to repeat, and the token is kept
/// (sealed) as soon as it exists, so a retry after a transient failure picks up where it was.
public struct ExchangeCode: JobKind {
    public struct Args: Codable, Sendable {
        let sessionId: String
        let sealedCode: String
        let wabaId: String
        let phoneNumberId: String?
        let businessId: String?
        /// The `WA_EMBEDDED_SIGNUP` event the browser saw (`FINISH`, or
        /// `FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING` for Coexistence), when it said.
        var event: String?
    }
    public static let kind = "onboarding.exchange_code"
    public static let queue = "onboarding"
    public static let timeout: TimeInterval = 25
    /// Transient Meta failures (5xx, throttling, no answer) are retried quickly; the last
    /// attempt's failure ends the session with `meta_error`.
    public static let retryPolicy = RetryPolicy.fixed([1, 2, 5, 10])
    /// Ahead of every other job of its queue.
    public static let priority = -1

    static func associatedData(sessionID: String) -> String { "session:\(sessionID):code" }

    let meta: MetaAccess
    var vault: Vault { meta.vault }
    var graph: GraphClient { meta.graph }

    public init(_ meta: MetaAccess) { self.meta = meta }

    public func perform(_ args: Args, context: JobContext) throws {
        let store = ProvisioningStore(database: context.database, vault: vault)
        guard let session = try store.exchanging(args.sessionId) else { return }  // finished, cancelled, or gone
        var token = session.exchangedToken
        var overridden = false
        do {
            // The code first: it lives 30 s, whatever else has to wait.
            let token = try token ?? {
                let fresh = try exchange(args, session: session, store: store, context: context)
                token = fresh
                return fresh
            }()
            switch try store.claim(waba: args.wabaId, for: session) {
            case .claimed:
                break
            case .busy:
                // Another onboarding of this tenant is setting this WABA's override: one at a
                // time, so Meta and the stored configuration end on the same one.
                throw JobError.snooze(after: Double.random(in: 1...3), "another onboarding of the tenant holds WABA \(args.wabaId)")
            }
            let phones = try numbers(args, token: token, store: store, context: context)
            try step("subscribing the app to the WABA", context, failing: ProvisioningFailure.webhookSubscriptionFailed) {
                try graph.subscribe(waba: args.wabaId, token: token, deadline: context.deadline)
            }
            try step("setting the webhook override", context, failing: ProvisioningFailure.webhookSubscriptionFailed) {
                try graph.overrideCallback(waba: args.wabaId, callbackURI: session.webhookOverrideURL,
                                           verifyToken: session.webhookVerifyToken, token: token, deadline: context.deadline)
            }
            overridden = true
            let expected = ConnectionMode.expected(event: args.event, coexistenceSession: session.coexistence)
            var numbers: [ProvisionedNumber] = []
            for phone in phones {
                numbers.append(try prepare(phone, expected: expected, session: session, token: token, store: store, context: context))
            }
            try store.complete(session, waba: args.wabaId, businessID: args.businessId, token: token, numbers: numbers)
        } catch let failure as ProvisioningFailure {
            try end(session, failure, waba: args.wabaId, token: token, overridden: overridden, store: store, context: context)
        } catch let error as JobError {
            throw error
        } catch where context.isLastAttempt {
            // Nothing else will come for this session: it ends here, not in a stuck `exchanging`.
            try end(session, ProvisioningFailure(reason: ProvisioningFailure.metaError, message: "provisioning stopped: \(error)"),
                    waba: args.wabaId, token: token, overridden: overridden, store: store, context: context)
        }
    }

    /// The session fails with its reason. A WABA this onboarding subscribed is released unless
    /// another connection or onboarding of it lives on; an override Meta already accepted stays
    /// the WABA's, so the siblings carry it.
    func end(_ session: ProvisioningStore.Session, _ failure: ProvisioningFailure, waba: String, token: String?, overridden: Bool,
             store: ProvisioningStore, context: JobContext) throws {
        context.logger.info("onboarding failed", ["session": session.id, "reason": failure.reason, "error": failure.message])
        try store.fail(session, failure, waba: waba, overrideAccepted: overridden)
        guard failure.reason != ProvisioningFailure.wabaWebhookConflict, let token,
              (try? store.holders(waba: waba, except: session.id)) == 0 else { return }
        do {
            try graph.unsubscribe(waba: waba, token: token, deadline: context.deadline)
        } catch {
            context.logger.warning("could not unsubscribe after a failed onboarding", ["waba": waba, "error": "\(error)"])
        }
    }

    /// The number the browser named, or else the WABA's numbers not yet live here (all of
    /// them when every one is), each with its fields.
    func numbers(_ args: Args, token: String, store: ProvisioningStore, context: JobContext) throws -> [GraphClient.PhoneNumber] {
        var ids: [String]
        if let phone = args.phoneNumberId {
            ids = [phone]
        } else {
            ids = try step("reading the WABA's numbers", context) {
                try graph.phoneNumbers(waba: args.wabaId, token: token, deadline: context.deadline).map(\.id)
            }
            let live = try store.liveNumbers(ids)
            if ids.contains(where: { !live.contains($0) }) { ids.removeAll { live.contains($0) } }
        }
        guard !ids.isEmpty else {
            throw ProvisioningFailure(reason: ProvisioningFailure.metaError, message: "the WABA has no phone number")
        }
        return try ids.map { id in
            try step("reading phone number \(id)", context) { try graph.phoneNumber(id, token: token, deadline: context.deadline) }
        }
    }

    /// Exchanges the code and keeps the token at once: the code will not work a second time.
    func exchange(_ args: Args, session: ProvisioningStore.Session, store: ProvisioningStore, context: JobContext) throws -> String {
        let code = try vault.openText(args.sealedCode, associatedData: ExchangeCode.associatedData(sessionID: session.id))
        let token = try step("exchanging the code", context, failing: ProvisioningFailure.oauthExchangeFailed) {
            try graph.exchangeCode(code, deadline: context.deadline).access_token
        }
        try store.keep(token: token, for: session)
        return token
    }

    /// Registers a Cloud API number that is not yet (with a PIN kept across retries), or asks
    /// a Coexistence number's app for its contacts and history.
    func prepare(_ phone: GraphClient.PhoneNumber, expected: ConnectionMode, session: ProvisioningStore.Session, token: String,
                 store: ProvisioningStore, context: JobContext) throws -> ProvisionedNumber {
        let mode = ConnectionMode.of(phone, expected: expected)
        var pin = session.registrationPins[phone.id]
        switch mode {
        case .cloudAPI where ConnectionMode.needsRegistration(phone):
            if pin == nil {
                pin = ConnectionMode.newPIN()
                try store.keep(pin: pin!, phone: phone.id, for: session)
            }
            try step("registering phone number \(phone.id)", context) {
                try graph.register(phone: phone.id, pin: pin!, token: token, deadline: context.deadline)
            }
        case .coexistence:
            ConnectionMode.requestSync(phone: phone.id, graph: graph, token: token, context: context)
        default:
            break
        }
        return ProvisionedNumber(phone: phone, mode: mode, pin: pin, registered: mode == .cloudAPI)
    }

    /// Runs one Meta call: a transient failure (5xx, throttling, no answer) is retried while
    /// attempts remain and is `meta_error` after the last; a refusal is `reason` at once.
    func step<T>(_ name: String, _ context: JobContext, failing reason: String = ProvisioningFailure.metaError,
                 _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as GraphError {
            if error.isTransient && !context.isLastAttempt { throw JobError.retry(after: retryDelay(context), "\(name): \(error)") }
            throw ProvisioningFailure(reason: error.isTransient ? ProvisioningFailure.metaError : reason,
                                      message: "\(name): \(error)", graph: error)
        } catch let error as HTTPClientError {
            if !context.isLastAttempt { throw JobError.retry(after: retryDelay(context), "\(name): \(error)") }
            throw ProvisioningFailure(reason: ProvisioningFailure.metaError, message: "\(name): \(error)")
        }
    }

    func retryDelay(_ context: JobContext) -> TimeInterval { ExchangeCode.retryPolicy.delay(afterAttempt: context.attempt) }
}

/// A number ready to be stored as a connection.
struct ProvisionedNumber {
    let phone: GraphClient.PhoneNumber
    let mode: ConnectionMode
    let pin: String?
    let registered: Bool
}
