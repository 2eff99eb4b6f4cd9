/// Where a job is in its life. `available` jobs wait for their `run_at`; `running` ones are
/// leased to a worker; the other three are final (pruned after a while).
public enum JobState: String, CaseIterable, Codable, Sendable {
    case available
    case running
    case completed
    case discarded
    case cancelled
}
