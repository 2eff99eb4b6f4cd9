import Dualhook
import JobQueue

/// The job kinds and sweeps this binary knows.
enum Catalog {
    /// The product's kinds open secrets, so the registry needs the key ring.
    static func registry(_ environment: Environment) throws -> JobRegistry {
        var registry = JobRegistry()
        registry.register(PruneJobs())
        registry.register(BulkJobAction())
        ProductJobs.register(in: &registry, vault: try environment.vault(), allowPrivateTargets: environment.allowPrivateTargets,
                             graph: environment.graph, eventSlotsPerAccount: try environment.eventSlotsPerAccount(),
                             eventRetentionDays: try environment.eventRetentionDays())
        if environment.diagnosticKinds { DiagnosticJobs.register(in: &registry) }
        return registry
    }

    static func sweeps(_ environment: Environment) throws -> [PeriodicJob] {
        let product = ProductJobs.sweeps(healthInterval: try environment.seconds("DUALHOOK_HEALTH_INTERVAL_SECONDS", default: 21_600),
                                         heartbeatWarning: try environment.seconds("DUALHOOK_HEARTBEAT_WARNING_SECONDS", default: Heartbeat.defaultWarning))
        return ([PruneJobs.periodic()] + product).map { $0.withEnvironmentOverride(environment.values) }
    }
}
