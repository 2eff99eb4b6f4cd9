import JobQueue

/// The job kinds and sweeps of the product.
public enum ProductJobs {
    public static func register(in registry: inout JobRegistry) {
        registry.register(ExpireSessions())
        registry.register(PruneAPIState())
    }

    public static var sweeps: [PeriodicJob] {
        [ExpireSessions.periodic(), PruneAPIState.periodic()]
    }
}
