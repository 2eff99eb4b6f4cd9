import Crypto
import HTTPClient
import JobQueue

/// The job kinds and sweeps of the product.
public enum ProductJobs {
    public static func register(in registry: inout JobRegistry, vault: Vault, allowPrivateTargets: Bool) {
        registry.register(ExpireSessions())
        registry.register(WebhookCheck(vault: vault, client: HTTPClient(allowPrivateTargets: allowPrivateTargets, maxResponseBytes: 4096)))
        registry.register(PruneAPIState())
    }

    public static var sweeps: [PeriodicJob] {
        [ExpireSessions.periodic(), PruneAPIState.periodic()]
    }
}
