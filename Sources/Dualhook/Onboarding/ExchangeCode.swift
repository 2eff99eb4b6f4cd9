import Crypto
import Foundation
import HTTPClient
import JobQueue
import Meta

/// From the code the browser handed over to a live connection: exchange the code (Meta's code
/// lives 30 s, so this runs on the `onboarding` queue ahead of everything), claim the WABA for
/// the tenant, read the numbers, route the tenant's webhooks (`Provisioning`), register Cloud API
/// numbers or request the app's sync for Coexistence numbers, and store the connection with its
/// token sealed; a WABA without a usable number yet waits in `awaiting_number` (`AwaitNumber`). Each Meta call is safe to repeat, and the token is kept
/// (sealed) as soon as it exists, so a retry after a transient failure picks up where it was.
public struct ExchangeCode: JobKind {
    public struct Args: Codable, Sendable {
        let sessionId: String
        let sealedCode: String
        let wabaId: String
        let phoneNumberId: String?
        let businessId: String?
        /// The `WA_EMBEDDED_SIGNUP` event the browser saw (`FINISH`, `FINISH_ONLY_WABA`, or
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
        // Finished, cancelled, gone, or already waiting for a number (its own job goes on).
        guard var session = try store.provisioning(args.sessionId, waba: args.wabaId, phone: args.phoneNumberId, context: context),
              session.status == "exchanging" else { return }
        var token = session.exchangedToken
        var overridden = false
        do {
            // The code first: it lives 30 s, whatever else has to wait.
            let token = try token ?? {
                let fresh = try exchange(args, session: session, store: store, context: context)
                token = fresh.token
                session.tokenExpiresAt = fresh.expiresAt
                return fresh.token
            }()
            switch try store.claim(waba: args.wabaId, for: session) {
            case .claimed:
                break
            case .busy:
                // Another onboarding of this tenant is setting this WABA's override: one at a
                // time, so Meta and the stored configuration end on the same one.
                throw JobError.snooze(after: Double.random(in: 1...3), "another onboarding of the tenant holds WABA \(args.wabaId)")
            }
            let provisioning = Provisioning(meta: meta, store: store, session: session, waba: args.wabaId, token: token, context: context)
            let expected = ConnectionMode.expected(event: args.event, coexistenceSession: session.coexistence)
            let phones = try provisioning.usableNumbers(named: args.phoneNumberId, expected: expected)
            let routed = try provisioning.route(phones)
            overridden = routed.wabaOverride
            guard !phones.isEmpty else {
                // FINISH_ONLY_WABA, an unverified number, or a Coexistence number Meta does not
                // show on the app yet: the WABA is routed; the session waits for a number.
                try store.awaitNumber(session, waba: args.wabaId, phoneID: args.phoneNumberId, businessID: args.businessId,
                                      event: args.event, overrideAccepted: overridden)
                return
            }
            try provisioning.finish(phones, routed: routed, expected: expected, businessID: args.businessId)
        } catch let failure as ProvisioningFailure {
            try ExchangeCode.end(session, failure, waba: args.wabaId, phone: args.phoneNumberId, token: token, overridden: overridden,
                                 store: store, graph: graph, context: context)
        } catch let error as JobError {
            throw error
        } catch where context.isLastAttempt {
            // Nothing else will come for this session: it ends here, not in a stuck `exchanging`.
            try ExchangeCode.end(session, ProvisioningFailure(reason: ProvisioningFailure.metaError, message: "provisioning stopped: \(error)"),
                                 waba: args.wabaId, phone: args.phoneNumberId, token: token, overridden: overridden, store: store,
                                 graph: graph, context: context)
        }
    }

    /// The session fails with its reason. A WABA this onboarding subscribed is released unless
    /// another connection or onboarding of it lives on; an override Meta already accepted stays
    /// the WABA's, so the siblings carry it. `phone`: the number the browser reported, if any.
    static func end(_ session: ProvisioningStore.Session, _ failure: ProvisioningFailure, waba: String, phone: String?, token: String?,
                    overridden: Bool, store: ProvisioningStore, graph: GraphClient, context: JobContext) throws {
        // Meta failing (down, or refusing what it should take) is the operator's to look at;
        // the other reasons are the customer's or the tenant's.
        context.logger.log(failure.reason == ProvisioningFailure.metaError ? .warning : .info, "onboarding failed",
                           ["session": session.id, "reason": failure.reason, "error": failure.message])
        try store.fail(session, failure, waba: waba, phone: phone, overrideAccepted: overridden)
        guard failure.reason != ProvisioningFailure.wabaWebhookConflict, let token,
              (try? store.holders(waba: waba, except: session.id)) == 0 else { return }
        do {
            try graph.unsubscribe(waba: waba, token: token, deadline: context.deadline)
        } catch {
            context.logger.warning("could not unsubscribe after a failed onboarding", ["waba": waba, "error": "\(error)"])
        }
    }

    /// Exchanges the code and keeps the token (and when it expires) at once: the code will not
    /// work a second time.
    func exchange(_ args: Args, session: ProvisioningStore.Session, store: ProvisioningStore,
                  context: JobContext) throws -> (token: String, expiresAt: Date?) {
        let code = try vault.openText(args.sealedCode, associatedData: ExchangeCode.associatedData(sessionID: session.id))
        // Meta's code lives 30 s: a throttled exchange cannot wait longer than that.
        let answer: GraphClient.AccessToken
        do {
            answer = try Provisioning.step("exchanging the code", context: context, failing: ProvisioningFailure.oauthExchangeFailed,
                                           patience: 25) {
                try graph.exchangeCode(code, deadline: context.deadline)
            }
        } catch let failure as ProvisioningFailure where failure.graph?.isAppRejected == true {
            // Every onboarding fails this way until the configuration is mended: said to the
            // operator as what to mend, not only as one more failed session.
            context.logger.error("Meta refused the app's id or secret at the code exchange: check META_APP_ID and META_APP_SECRET",
                                 ["session": session.id, "meta_code": "\(failure.graph!.code)"])
            throw failure
        }
        // `expires_in` is in seconds; business integration system user tokens usually have none
        // (https://developers.facebook.com/documentation/facebook-login/facebook-login-for-business).
        let expiresAt = answer.expires_in.flatMap { $0 > 0 ? Date().addingTimeInterval(TimeInterval($0)) : nil }
        try store.keep(token: answer.access_token, expiresAt: expiresAt, for: session)
        return (answer.access_token, expiresAt)
    }
}
