import Foundation
import Postgres

/// Returns `running` jobs whose lease ran out — their worker died or lost the database — to
/// `available` with the kind's backoff, or discards them when their attempts are spent. Any
/// worker may run it; `SKIP LOCKED` keeps two reapers off the same rows.
enum Reaper {
    static func reap(registry: JobRegistry, pool: ConnectionPool, limit: Int = 1000) throws -> Int {
        try pool.transaction { tx in
            try JobTransitions.reap(limit: limit, delay: { kind, attempt in
                (registry.entry(kind)?.retryPolicy ?? .standard).delay(afterAttempt: attempt)
            }, on: tx)
        }
    }
}
