import Foundation

/// What the simulator remembers, shaped like Meta's own objects.
struct FakeMetaState: Sendable {
    struct Code: Sendable {
        let wabaID: String
        let businessID: String
        let issuedAt: Date
        var used: Bool
        /// Seconds the exchanged token lives (`expires_in`); nil for one that never expires.
        var tokenLifetime: Int? = nil
    }

    struct Phone: Sendable {
        let id: String
        let wabaID: String
        var displayPhoneNumber: String
        var verifiedName: String
        var qualityRating: String = "GREEN"
        var healthStatus: String = "AVAILABLE"
        /// `whatsapp_business_manager_messaging_limit`.
        var messagingLimit: String = "TIER_1K"
        /// What limits the number, as `health_status.entities[].errors` reports it.
        var healthErrors: [HealthError] = []
        var mode: String
        var registered = false
        var pin: String?
        /// The `sync_type`s accepted, in order; each works once.
        var syncRequests: [String] = []
        /// Whether the owner proved the number (`code_verification_status`).
        var verified = true
        /// When it was onboarded: Coexistence sync works within 24 h of it.
        var onboardedAt = Date()
        /// Register calls in Meta's 72-hour window (10 allowed).
        var registerCalls: [Date] = []
        /// Refused registration until then: the 72 hours after the limit was hit.
        var registerBlockedUntil: Date?
        /// The number's own override (`webhook_configuration`), which wins over the WABA's.
        var overrideCallbackURI: String?
        var overrideVerifyToken: String?
    }

    struct HealthError: Sendable {
        let code: Int
        let description: String
    }

    struct WABA: Sendable {
        let id: String
        var subscribed = false
        var overrideCallbackURI: String?
        var overrideVerifyToken: String?
        var phoneIDs: [String] = []
    }

    struct Fault: Sendable {
        let match: String
        let status: Int
        let body: Data?
        var times: Int
        let delayMs: Int
        /// Sent with the answer (a rate limit's usage header, say).
        var headers: [(String, String)] = []

        /// A prefix of the call's method and path; ending in `$`, the whole of it (so
        /// `POST /v25.0/{phone}$` is the PIN update, not the number's `/register`).
        func matches(_ route: String) -> Bool {
            match.hasSuffix("$") ? route == match.dropLast() : route.hasPrefix(match)
        }
    }

    struct Call: Sendable {
        let method: String
        let path: String
        let at: Date
    }

    /// What `/_fake/receiver` was sent.
    struct Received: Sendable {
        let path: String
        let at: Date
        let event: String?
        let body: String
    }

    var codes: [String: Code] = [:]
    var tokens: [String: String] = [:]  // token → WABA id
    /// Tokens that stop working at a time (`expires_in` of the exchange).
    var tokenExpiry: [String: Date] = [:]
    /// Where the app's own callback is (the App Dashboard's Webhooks setting): the last place
    /// Meta routes a change to.
    var appCallbackURL: String?
    /// Changes delivered again after an answer other than 200, and those still being retried.
    var redeliveries = 0
    var redeliveriesPending = 0
    var wabas: [String: WABA] = [:]
    var phones: [String: Phone] = [:]
    var faults: [Fault] = []
    var calls: [Call] = []
    var received: [Received] = []
    /// The locale of each SDK load (`/pt_BR/sdk.js` → `pt_BR`).
    var sdkLocales: [String] = []
    var nextID: Int = 100_000_000_000_000

    /// How many of the latest calls and SDK loads `/_fake/state` keeps: a fake that runs for
    /// days under `ops/dev` (health polls, heartbeats) must not grow without end.
    static let keptCalls = 10_000

    mutating func recordCall(method: String, path: String) {
        calls.append(.init(method: method, path: path, at: Date()))
        FakeMetaState.keepLatest(&calls)
    }

    mutating func recordSDKLoad(locale: String) {
        sdkLocales.append(locale)
        FakeMetaState.keepLatest(&sdkLocales)
    }

    /// Trimmed a tenth at a time, not one element per append.
    private static func keepLatest<Element>(_ list: inout [Element]) {
        if list.count > keptCalls + keptCalls / 10 { list.removeFirst(list.count - keptCalls) }
    }

    mutating func makeID() -> String {
        nextID += Int.random(in: 1...999)
        return String(nextID)
    }
}
