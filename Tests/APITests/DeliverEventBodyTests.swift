import Foundation
import Testing
@testable import Dualhook

/// What an attempt keeps of the receiver's answer: text Postgres can hold.
@Suite struct DeliverEventBodyTests {
    @Test func anAnswerIsKeptAsTextWithoutNUL() {
        #expect(DeliverEvent.storable(Data("ok".utf8)) == "ok")
        #expect(DeliverEvent.storable(Data([0x61, 0x00, 0x62, 0x00])) == "ab")
        #expect(DeliverEvent.storable(Data("café ✓".utf8)) == "café ✓")
        // Not UTF-8: replaced, never passed on as bytes Postgres would refuse.
        #expect(DeliverEvent.storable(Data([0x61, 0xFF, 0x62])) == "a\u{FFFD}b")
        #expect(!DeliverEvent.storable(Data([0x00, 0xC3, 0x00, 0xA9, 0x00])).contains("\u{0}"))
    }
}
