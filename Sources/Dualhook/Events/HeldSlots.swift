import Foundation
import Synchronization

/// Delivery slots (`event_slots` rows) this worker process keeps between deliveries to one
/// endpoint: a delivery that ends gives its slot to the next delivery to the same endpoint that
/// this process starts, instead of giving it back to Postgres and taking it again. Taking and
/// giving back cost about 0.1 ms of Postgres CPU per delivery (an advisory lock, the account's
/// slot rows counted, its endpoints read, two updates), a fifth of all Postgres did per delivery
/// in `ops/bench/events`.
///
/// The bounds stay Postgres': a kept slot is still a held row, counted by every other process's
/// take. A slot is reused without asking Postgres only while it is the endpoint's own to keep:
/// its lease covers the new delivery, the account has no other enabled endpoint (which the
/// take would keep a slot free for) and the endpoint has no rate limit; otherwise the take runs
/// again under the slot's holder, keeping or giving back the slot by the usual rules
/// (`DeliveryStore.loadAll`). A slot idle for `linger` is given back by a thread of its own; all
/// are given back when the worker stops. A worker killed outright leaves its slots held until
/// their leases end, as it always did, only for up to `reuseWindow` longer.
final class HeldSlots: Sendable {
    struct Slot: Sendable {
        let account: String
        let endpoint: String
        /// `event_slots.job_id` of the row. A kept slot is held under its first job's id negated
        /// (`DeliveryStore.recordAll` writes it so when it first keeps the slot): no job has that
        /// id, so a take by that job run again (a retry brought forward by a redelivery, say)
        /// never finds the row its own while another delivery uses it.
        let holder: Int64
        /// Held at least until then, in `HeldSlots.now`'s seconds: the lease counted from
        /// before the take, so no clock is compared with Postgres'.
        let heldUntil: TimeInterval
    }

    /// Seconds on a clock that never steps back (a wall clock set back would stretch leases).
    static var now: TimeInterval { ProcessInfo.processInfo.systemUptime }

    /// How much longer than its own attempt a delivery's take asks the slot for, so deliveries
    /// started within that time can reuse it. Short: a worker killed outright holds its slots
    /// this much longer than its jobs, and the account's deliveries wait for them; a slot
    /// whose lease no longer covers a delivery is taken afresh, a take every few seconds.
    static let reuseWindow: TimeInterval = 5

    /// How long a kept slot may wait for the endpoint's next delivery before it is given back.
    let linger: TimeInterval

    private struct State {
        var idle: [String: [(slot: Slot, since: TimeInterval)]] = [:]
        var release: (@Sendable ([Slot]) -> Void)?
        var thread: DispatchSemaphore?
        var stopped = false
    }
    private let state = Mutex(State())
    private let wake = NSCondition()

    init(linger: TimeInterval = 0.1) {
        self.linger = linger
    }

    /// A kept slot of this endpoint, taken out of the idle set: one whose lease lasts `needed`
    /// seconds more if there is one, else one to renew (`renew`: its reuse must go through the
    /// take, which renews the lease of a slot its holder still holds).
    func reuse(endpoint: String, lasting needed: TimeInterval) -> (slot: Slot, renew: Bool)? {
        let horizon = HeldSlots.now + needed
        return state.withLock { state in
            guard var slots = state.idle[endpoint], !slots.isEmpty else { return nil }
            let lasting = slots.lastIndex { $0.slot.heldUntil >= horizon }
            let slot = slots.remove(at: lasting ?? slots.count - 1).slot
            state.idle[endpoint] = slots.isEmpty ? nil : slots
            return (slot, lasting == nil)
        }
    }

    /// Keeps a slot for the endpoint's next delivery; `release` gives slots back to Postgres
    /// (from the thread that starts when the first slot is kept).
    func keep(_ slot: Slot, release: @escaping @Sendable ([Slot]) -> Void) {
        enum Next { case kept, keptFirst, startThread(DispatchSemaphore), refused }
        let next = state.withLock { state -> Next in
            guard !state.stopped else { return .refused }
            let first = state.idle.isEmpty
            state.idle[slot.endpoint, default: []].append((slot, HeldSlots.now))
            if state.release == nil { state.release = release }
            // The thread waits for the oldest kept slot, which is due first; it needs waking
            // only when nothing was kept (a signal per keep cost a context switch per delivery).
            guard state.thread == nil else { return first ? .keptFirst : .kept }
            let ended = DispatchSemaphore(value: 0)
            state.thread = ended
            return .startThread(ended)
        }
        switch next {
        case .kept: break
        case .keptFirst: wake.withLock { wake.signal() }
        case .refused: release([slot])
        case .startThread(let ended):
            let thread = Thread { [self] in
                giveBackIdle()
                ended.signal()
            }
            thread.name = "dh-event-slots"
            thread.start()
        }
    }

    /// Gives back every kept slot through `release`, after the thread has given back what it
    /// took out; slots kept later are given back at once.
    func stop(release: @Sendable ([Slot]) -> Void) {
        let thread = state.withLock { state in
            state.stopped = true
            return state.thread
        }
        wake.withLock { wake.broadcast() }
        _ = thread?.wait(timeout: .now() + 10)
        let slots = state.withLock { state in
            defer { state.idle = [:] }
            return state.idle.values.flatMap { $0.map(\.slot) }
        }
        if !slots.isEmpty { release(slots) }
    }

    private func giveBackIdle() {
        while true {
            // Asleep until the oldest kept slot has waited `linger`, until one is kept, or until
            // the stop. Read under `wake`, which `keep` and `stop` signal under: none is missed.
            wake.withLock {
                let (oldest, stopped) = state.withLock { state in (state.idle.values.flatMap { $0.map(\.since) }.min(), state.stopped) }
                guard !stopped else { return }
                if let oldest {
                    let due = oldest + linger - HeldSlots.now
                    if due > 0 { _ = wake.wait(until: Date().addingTimeInterval(due)) }
                } else {
                    wake.wait()
                }
            }
            let now = HeldSlots.now
            // Once stopped, `stop` gives back all that is kept.
            let (due, release, stopped) = state.withLock { state -> ([Slot], (@Sendable ([Slot]) -> Void)?, Bool) in
                guard !state.stopped else { return ([], nil, true) }
                var due: [Slot] = []
                for (key, slots) in state.idle {
                    let old = slots.filter { now - $0.since >= linger || $0.slot.heldUntil <= now }
                    guard !old.isEmpty else { continue }
                    due += old.map(\.slot)
                    let fresh = slots.filter { now - $0.since < linger && $0.slot.heldUntil > now }
                    state.idle[key] = fresh.isEmpty ? nil : fresh
                }
                return (due, state.release, false)
            }
            if stopped { return }
            if !due.isEmpty { release?(due) }
        }
    }
}
