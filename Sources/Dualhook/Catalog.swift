import Crypto
import HTTPClient
import JobQueue
import Meta

/// The job kinds and sweeps of the product.
public enum ProductJobs {
    public static func register(in registry: inout JobRegistry, vault: Vault, allowPrivateTargets: Bool,
                                graph: GraphClient.Configuration, eventSlotsPerAccount: Int = 8,
                                eventRetentionDays: Int = PruneEvents.defaultRetentionDays) {
        let meta = MetaAccess(vault: vault, graph: GraphClient(configuration: graph, http: HTTPClient(allowPrivateTargets: allowPrivateTargets)))
        registry.register(ExpireSessions())
        registry.register(WebhookCheck(vault: vault, client: HTTPClient(allowPrivateTargets: allowPrivateTargets, maxResponseBytes: 4096)))
        registry.register(ExchangeCode(meta))
        registry.register(ResolveMode(meta))
        registry.register(AwaitNumber(meta))
        registry.register(RequestSync(meta))
        registry.register(RegisterNumber(meta))
        registry.register(TokenExpiry())
        registry.register(UpdateWebhook(meta))
        registry.register(Disconnect(meta))
        registry.register(DeliverEvent(vault: vault, allowPrivateTargets: allowPrivateTargets, slotsPerAccount: eventSlotsPerAccount))
        registry.register(SettleEvents())
        registry.register(SyncEndpointDeliveries())
        registry.register(RecoverEvents())
        registry.register(EndpointHealthSweep())
        registry.register(PruneEvents(retentionDays: eventRetentionDays))
        registry.register(ProcessManagementChange(vault: vault, allowPrivateTargets: allowPrivateTargets))
        registry.register(PollHealth(meta))
        registry.register(HealthSweep())
        registry.register(Heartbeat())
        registry.register(PruneAPIState())
        registry.register(UsageNotices())
    }

    /// `healthInterval`: how often each connection's health is polled; `heartbeatWarning`: how
    /// long before the Coexistence heartbeat is due `due_soon` is sent.
    public static func sweeps(healthInterval: Double = 21_600, heartbeatWarning: Double = Heartbeat.defaultWarning) -> [PeriodicJob] {
        [ExpireSessions.periodic(), PruneAPIState.periodic(), SettleEvents.periodic(),
         HealthSweep.periodic(intervalSeconds: healthInterval), Heartbeat.periodic(warningSeconds: heartbeatWarning),
         TokenExpiry.periodic(), UsageNotices.periodic(), EndpointHealthSweep.periodic(), PruneEvents.periodic()]
    }
}
