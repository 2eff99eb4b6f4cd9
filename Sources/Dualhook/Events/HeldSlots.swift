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
        /// The job whose take holds the row (`event_slots.job_id`); the deliveries that reuse
        /// the slot keep that id, which ended with its job, so no take mistakes it for its own.
        let holder: Int64
        /// Held at least until then: the lease counted from before the take, on this clock.
        let heldUntil: Date
    }

    /// How much longer than its own attempt a delivery's take asks the slot for, so deliveries
    /// started within that time can reuse it.
    static let reuseWindow: TimeInterval = 15
    /// How long a kept slot may wait for the endpoint's next delivery before it is given back.
    static let linger: TimeInterval = 0.1

    private struct State {
        var idle: [String: [(slot: Slot, since: Date)]] = [:]
        var release: ((_ slots: [Slot]) -> Void)?
        var running = false
        var stopped = false
    }
    private let state = Mutex(State())
    private let wake = NSCondition()

    /// A kept slot of this endpoint whose lease lasts `needed` seconds more, taken out of the idle set.
    func reuse(endpoint: String, lasting needed: TimeInterval) -> Slot? {
        let horizon = Date().addingTimeInterval(needed)
        return state.withLock { state in
            guard var slots = state.idle[endpoint] else { return nil }
            // Those that no longer last are left for the thread to give back.
            guard let index = slots.lastIndex(where: { $0.slot.heldUntil >= horizon }) else { return nil }
            let slot = slots.remove(at: index).slot
            state.idle[endpoint] = slots.isEmpty ? nil : slots
            return slot
        }
    }

    /// Keeps a slot for the endpoint's next delivery; `release` gives slots back to Postgres
    /// (from the thread that starts when the first slot is kept).
    func keep(_ slot: Slot, release: @escaping @Sendable ([Slot]) -> Void) {
        enum Next { case kept, startThread, refused }
        let next = state.withLock { state -> Next in
            guard !state.stopped else { return .refused }
            state.idle[slot.endpoint, default: []].append((slot, Date()))
            if state.release == nil { state.release = release }
            guard !state.running else { return .kept }
            state.running = true
            return .startThread
        }
        switch next {
        case .kept: break
        case .refused: release([slot])
        case .startThread:
            let thread = Thread { [self] in giveBackIdle() }
            thread.name = "dh-event-slots"
            thread.start()
        }
    }

    /// Every kept slot, given back; later ones are given back at once.
    func stop() {
        let (slots, release) = state.withLock { state in
            state.stopped = true
            let slots = state.idle.values.flatMap { $0.map(\.slot) }
            state.idle = [:]
            return (slots, state.release)
        }
        wake.withLock { wake.broadcast() }
        if !slots.isEmpty { release?(slots) }
    }

    private func giveBackIdle() {
        while true {
            wake.withLock { _ = wake.wait(until: Date().addingTimeInterval(HeldSlots.linger / 2)) }
            let now = Date()
            let (due, release, stopped) = state.withLock { state in
                var due: [Slot] = []
                for (key, slots) in state.idle {
                    let (old, fresh) = (slots.filter { now.timeIntervalSince($0.since) >= HeldSlots.linger || $0.slot.heldUntil <= now },
                                        slots.filter { now.timeIntervalSince($0.since) < HeldSlots.linger && $0.slot.heldUntil > now })
                    guard !old.isEmpty else { continue }
                    due += old.map(\.slot)
                    state.idle[key] = fresh.isEmpty ? nil : fresh
                }
                return (due, state.release, state.stopped)
            }
            if !due.isEmpty { release?(due) }
            if stopped { return }
        }
    }
}
