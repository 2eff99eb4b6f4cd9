import Foundation
import Synchronization

/// The app's own Graph rate limit (code 4, "Application request limit reached"). Meta: once an
/// app is over it, "any subsequent requests made by your app will fail … until enough time has
/// passed for the call count to drop below the limit"
/// (https://developers.facebook.com/docs/graph-api/overview/rate-limiting/). One throttled
/// answer holds back the process's other calls for the wait it announces, each answered here
/// with that error and the time left, instead of every job spending a call (which counts) to
/// learn it again. Limits of one WhatsApp Business Account (80007) stay that account's.
final class AppThrottle: Sendable {
    private let state = Mutex<(until: Date, error: GraphError)?>(nil)

    /// Throws the throttle's error, its wait the time left, while the app is held back.
    func check(now: Date = Date()) throws {
        guard let held = state.withLock({ $0 }), held.until > now else { return }
        var error = held.error
        error.retryAfter = max(held.until.timeIntervalSince(now), 1)
        throw error
    }

    /// Holds the app back when Meta's answer says the app itself is over its limit.
    func record(_ error: GraphError, now: Date = Date()) {
        guard error.code == 4, let wait = error.waitBeforeRetry else { return }
        let until = now.addingTimeInterval(wait)
        state.withLock { held in
            if held == nil || held!.until < until { held = (until, error) }
        }
    }
}
