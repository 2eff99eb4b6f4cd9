import Foundation
@testable import JobQueue
import Testing

/// The fetcher's list of jobs falling due: earliest first, taken once, bounded.
@Suite struct DueTimesTests {
    @Test func dueQueuesAreTakenOnceEarliestFirstAndFarOrNegativeDelaysAreLeftToThePoll() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        var due = DueTimes()
        due.add(queue: "events", after: 2, now: now)
        due.add(queue: "meta", after: 0.5, now: now)
        due.add(queue: "events", after: 1, now: now)
        due.add(queue: "health", after: DueTimes.horizon + 1, now: now)  // the poll finds it
        due.add(queue: "health", after: -1, now: now)
        #expect(due.earliest == now.addingTimeInterval(0.5))
        #expect(due.takeDue(now: now.addingTimeInterval(0.4)).isEmpty)
        #expect(due.takeDue(now: now.addingTimeInterval(1)) == ["meta", "events"])
        #expect(due.earliest == now.addingTimeInterval(2))
        #expect(due.takeDue(now: now.addingTimeInterval(1.5)).isEmpty)
        #expect(due.takeDue(now: now.addingTimeInterval(2)) == ["events"])
        #expect(due.earliest == nil && due.takeDue(now: now.addingTimeInterval(100)).isEmpty)
    }

    @Test func atCapacityTheLatestAreDropped() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        var due = DueTimes()
        for index in 0..<DueTimes.capacity { due.add(queue: "late", after: 10 + Double(index) / 1000, now: now) }
        due.add(queue: "later", after: 50, now: now)  // past the last kept: dropped
        due.add(queue: "soon", after: 1, now: now)    // ahead of them: kept, the latest dropped
        #expect(due.takeDue(now: now.addingTimeInterval(1)) == ["soon"])
        #expect(due.takeDue(now: now.addingTimeInterval(60)) == ["late"])
    }
}
