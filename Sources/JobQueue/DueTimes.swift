import Foundation

/// When jobs this worker put off (snoozed, or failed with a short retry) fall due, by queue, so
/// the fetcher claims them then instead of at its next poll. Nothing notifies for a job that
/// only becomes due: without this, a job snoozed for 0.5 s waited for the poll (1 s by default)
/// and, in a burst of one account's events, a tail of snoozed deliveries ran one poll at a time
/// (1,000 events to one endpoint: the last 25% took 6 s of a run of 8).
///
/// Bounded: only delays up to `horizon` are kept (later ones gain little over the poll), at most
/// `capacity` of them, the earliest first. Not thread-safe: the worker guards it.
struct DueTimes {
    static let horizon: TimeInterval = 60
    static let capacity = 1024

    /// Sorted by date.
    private var entries: [(at: Date, queue: String)] = []

    var earliest: Date? { entries.first?.at }

    mutating func add(queue: String, after delay: TimeInterval, now: Date = Date()) {
        guard delay >= 0, delay <= DueTimes.horizon else { return }
        let at = now.addingTimeInterval(delay)
        let index = entries.firstIndex { $0.at > at } ?? entries.count
        guard index < DueTimes.capacity else { return }
        entries.insert((at, queue), at: index)
        if entries.count > DueTimes.capacity { entries.removeLast() }
    }

    /// The queues with a job due by `now`, taken out.
    mutating func takeDue(now: Date = Date()) -> Set<String> {
        let count = entries.firstIndex { $0.at > now } ?? entries.count
        let due = Set(entries.prefix(count).map(\.queue))
        entries.removeFirst(count)
        return due
    }
}
