import Foundation

/// How long to wait before the next attempt of a failed job, and how many attempts there are.
public enum RetryPolicy: Sendable, Equatable {
    /// Wait `delays[n-1]` after the n-th failed attempt; `delays.count + 1` attempts in all.
    case fixed([TimeInterval])
    /// `base · 2^(attempt-1)`, capped at `maximum`, spread by ±`jitter` (a fraction), for
    /// `maxAttempts` attempts.
    case exponential(base: TimeInterval, maximum: TimeInterval, maxAttempts: Int, jitter: Double)
    /// One attempt only.
    case never

    /// The default for kinds that say nothing: 20 attempts over about a day.
    public static let standard = RetryPolicy.exponential(base: 2, maximum: 3600, maxAttempts: 20, jitter: 0.2)

    public var maxAttempts: Int {
        switch self {
        case .fixed(let delays): delays.count + 1
        case .exponential(_, _, let maxAttempts, _): max(1, maxAttempts)
        case .never: 1
        }
    }

    /// The delay after failed attempt number `attempt` (1-based).
    public func delay(afterAttempt attempt: Int, random: Double = Double.random(in: -1...1)) -> TimeInterval {
        switch self {
        case .fixed(let delays):
            guard !delays.isEmpty else { return 0 }
            return delays[min(max(attempt, 1), delays.count) - 1]
        case .exponential(let base, let maximum, _, let jitter):
            let exponent = Double(min(max(attempt - 1, 0), 62))
            let raw = min(base * pow(2, exponent), maximum)
            return max(0, raw * (1 + jitter * random))
        case .never:
            return 0
        }
    }
}
