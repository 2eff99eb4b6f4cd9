import Crypto
import Foundation
import JobQueue

/// The settings of API.md's configuration table that the front needs.
public struct AppConfiguration: Sendable {
    public var databaseURL: String
    public var publicURL: String
    public var allowPrivateTargets: Bool
    public var maxBodyBytes: Int = 1 << 20
    /// `DUALHOOK_METRICS_TOKEN`: `/metrics` answers only a scraper that presents it as a bearer
    /// token; without it metrics are off (404), so an open port shows nothing of the queues.
    public var metricsToken: String?
    /// The sweeps the console lists and can run now (the schedulers run the same list).
    public var sweeps: [PeriodicJob] = []
    /// Seals secrets at rest (verify tokens, stored idempotent replies).
    public var vault: Vault
    /// The Meta app the onboarding page runs Embedded Signup with.
    public var meta = MetaApp()

    public struct MetaApp: Sendable {
        public var appID = "1234567890"
        public var configID = "dev-config"
        public var graphVersion = "v25.0"
        public var sdkURL = "https://connect.facebook.net/en_US/sdk.js"
        /// Checks `X-Hub-Signature-256` on the app callback.
        public var appSecret = "dev-app-secret"
        /// Meta's verification GET of the app callback must present this.
        public var webhookVerifyToken = "dev-verify-token"
        public init() {}
    }

    public init(databaseURL: String, publicURL: String, allowPrivateTargets: Bool, vault: Vault) {
        self.vault = vault
        self.databaseURL = databaseURL
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.allowPrivateTargets = allowPrivateTargets
    }
}
