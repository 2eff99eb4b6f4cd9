import Dualhook
import JobQueue

/// The job kinds and sweeps this binary knows.
enum Catalog {
    static func registry(_ environment: Environment) -> JobRegistry {
        var registry = JobRegistry()
        registry.register(PruneJobs())
        ProductJobs.register(in: &registry)
        if environment.diagnosticKinds { DiagnosticJobs.register(in: &registry) }
        return registry
    }

    static func sweeps(_ environment: Environment) -> [PeriodicJob] {
        ([PruneJobs.periodic()] + ProductJobs.sweeps).map { $0.withEnvironmentOverride(environment.values) }
    }
}
