import Foundation
import Synchronization
import Testing
@testable import Dualhook

/// `HeldSlots`: the slots a worker keeps between deliveries to one endpoint.
@Suite struct HeldSlotsTests {
    final class Released: Sendable {
        let slots = Mutex<[Int64]>([])
        var all: [Int64] { slots.withLock { $0.sorted() } }
        var give: @Sendable ([HeldSlots.Slot]) -> Void { { given in self.slots.withLock { $0 += given.map(\.holder) } } }
    }

    func slot(_ holder: Int64, _ endpoint: String = "ep_1", lasting seconds: TimeInterval = 60) -> HeldSlots.Slot {
        HeldSlots.Slot(account: "acc_1", endpoint: endpoint, holder: holder, heldUntil: HeldSlots.now + seconds)
    }

    @Test func aKeptSlotGoesToTheSameEndpointAndIsRenewedWhenItsLeaseNoLongerCoversTheAttempt() {
        // A linger longer than the test: nothing is given back while it runs.
        let slots = HeldSlots(linger: 600), released = Released()
        defer { slots.stop(release: released.give) }
        slots.keep(slot(1, lasting: 10), release: released.give)
        slots.keep(slot(2, lasting: 60), release: released.give)
        #expect(slots.reuse(endpoint: "ep_2", lasting: 1) == nil)
        let lasting = slots.reuse(endpoint: "ep_1", lasting: 30)
        #expect(lasting?.slot.holder == 2 && lasting?.renew == false, "the one whose lease lasts first")
        let short = slots.reuse(endpoint: "ep_1", lasting: 30)
        #expect(short?.slot.holder == 1 && short?.renew == true, "slot 1's lease ends too soon: renewed")
        #expect(slots.reuse(endpoint: "ep_1", lasting: 5) == nil, "each slot is reused once")
        slots.keep(slot(3, lasting: 10), release: released.give)
        #expect(slots.reuse(endpoint: "ep_1", lasting: 5)?.renew == false)
        #expect(released.all.isEmpty)
    }

    @Test func anIdleSlotIsGivenBackAfterItsLingerAndAllAreGivenBackAtTheStop() {
        let slots = HeldSlots(), released = Released()
        let given = Date()
        slots.keep(slot(1), release: released.give)
        while released.all.isEmpty && Date().timeIntervalSince(given) < 5 { Thread.sleep(forTimeInterval: 0.01) }
        #expect(released.all == [1])
        #expect(Date().timeIntervalSince(given) >= slots.linger)
        #expect(slots.reuse(endpoint: "ep_1", lasting: 1) == nil)

        slots.keep(slot(2), release: released.give)
        slots.keep(slot(3, "ep_2"), release: released.give)
        let stopped = Released()
        slots.stop(release: stopped.give)
        #expect(released.all == [1] && stopped.all == [2, 3], "the stop gives back through the release it is given")
        // Once stopped, a slot is given back as it is kept.
        slots.keep(slot(4), release: released.give)
        #expect(released.all == [1, 4])
        #expect(slots.reuse(endpoint: "ep_1", lasting: 1) == nil)
    }
}
