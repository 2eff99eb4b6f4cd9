import Foundation
@testable import JobQueue
import Testing

@Suite struct RetryPolicyTests {
    @Test func fixedScheduleIsFollowedAndItsLengthSetsTheAttempts() {
        let events = RetryPolicy.fixed([60, 300, 900, 3600, 21_600, 86_400])
        #expect(events.maxAttempts == 7)
        #expect((1...6).map { events.delay(afterAttempt: $0) } == [60, 300, 900, 3600, 21_600, 86_400])
        #expect(events.delay(afterAttempt: 9) == 86_400)
    }

    @Test func exponentialDoublesWithinItsJitterAndCap() {
        let policy = RetryPolicy.exponential(base: 2, maximum: 100, maxAttempts: 10, jitter: 0.25)
        #expect(policy.maxAttempts == 10)
        #expect(policy.delay(afterAttempt: 1, random: 0) == 2)
        #expect(policy.delay(afterAttempt: 4, random: 0) == 16)
        #expect(policy.delay(afterAttempt: 4, random: 1) == 20)
        #expect(policy.delay(afterAttempt: 4, random: -1) == 12)
        #expect(policy.delay(afterAttempt: 30, random: 0) == 100)
        for _ in 0..<100 {
            let d = policy.delay(afterAttempt: 3)
            #expect(d >= 6 && d <= 10)
        }
    }

    @Test func handlerErrorsMapToOutcomes() {
        let policy = RetryPolicy.fixed([5, 10])
        struct Plain: Error {}
        guard case .retry(let d1, _) = JobOutcome.failure(Plain(), attempt: 1, maxAttempts: 3, policy: policy) else {
            Issue.record("expected a retry"); return
        }
        #expect(d1 == 5)
        guard case .retry(let d2, let message) = JobOutcome.failure(JobError.retry(after: 42, "slow down"), attempt: 2,
                                                                     maxAttempts: 3, policy: policy) else {
            Issue.record("expected a retry"); return
        }
        #expect(d2 == 42 && message == "slow down")
        guard case .discard = JobOutcome.failure(Plain(), attempt: 3, maxAttempts: 3, policy: policy) else {
            Issue.record("the last attempt must discard"); return
        }
        guard case .discard(let why) = JobOutcome.failure(JobError.discard("bad token"), attempt: 1, maxAttempts: 3,
                                                           policy: policy) else {
            Issue.record("expected a discard"); return
        }
        #expect(why == "bad token")
    }
}
