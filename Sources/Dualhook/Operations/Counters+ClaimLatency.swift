import Foundation

/// The job claim latency (how long due jobs waited for a worker) as a Prometheus histogram,
/// `dualhook_job_claim_latency_seconds{queue}`, counted by each worker process like every
/// other counter: cumulative buckets, a count, and the sum kept in microseconds (counters are
/// integers) and written in seconds by `render`.
extension Counters {
    static let claimLatency = "dualhook_job_claim_latency_seconds"
    static let claimLatencyBounds: [(Double, String)] = [
        (0.001, "0.001"), (0.005, "0.005"), (0.01, "0.01"), (0.05, "0.05"), (0.1, "0.1"), (0.5, "0.5"), (1, "1"), (5, "5"), (30, "30"),
    ]

    /// One claim's jobs: what each waited past its due time, in seconds. Every bucket is
    /// written, an empty one as 0, so each queue's histogram has all its bounds (a scraper's
    /// `le="0.005"` would otherwise be missing until a claim first fell in it).
    public func observeClaim(queue: String, waited: [Double]) {
        for (bound, text) in Counters.claimLatencyBounds {
            add(Counters.claimLatency + "_bucket", [("queue", queue), ("le", text)], by: waited.count { $0 <= bound })
        }
        add(Counters.claimLatency + "_bucket", [("queue", queue), ("le", "+Inf")], by: waited.count)
        add(Counters.claimLatency + "_count", [("queue", queue)], by: waited.count)
        add(Counters.claimLatency + "_sum", [("queue", queue)], by: Int((waited.reduce(0, +) * 1_000_000).rounded()))
    }
}
