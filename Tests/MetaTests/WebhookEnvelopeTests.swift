import Foundation
import Meta
import Testing

@Suite struct WebhookEnvelopeTests {
    @Test func eachValueKeepsTheBytesMetaSent() throws {
        let value = #"{ "b" : 1,"a":"caf\u00e9", "n":[1.5e3, -0, null, true] }"#
        let body = Data(#"{"object":"whatsapp_business_account","entry":[{"id":"123","time":1760000000,"changes":[{"field":"x","value":\#(value)},{"value":7,"field":"y"}]}]}"#.utf8)
        let envelope = try WebhookEnvelope(body)
        #expect(envelope.object == "whatsapp_business_account")
        let entry = try #require(envelope.entries.first)
        #expect(entry.id == "123" && entry.time == 1760000000)
        #expect(entry.changes.map(\.field) == ["x", "y"])
        #expect(String(decoding: entry.changes[0].rawValue, as: UTF8.self) == value)
        #expect(String(decoding: entry.changes[1].rawValue, as: UTF8.self) == "7")
        // The canonical form, written from the same reading: what a redelivery serialised
        // another way is compared by.
        #expect(String(decoding: entry.changes[0].canonicalValue, as: UTF8.self) == #"{"a":"café","b":1,"n":[1500,-0,null,true]}"#)
        #expect(String(decoding: entry.changes[1].canonicalValue, as: UTF8.self) == "7")
    }

    @Test func whatIsNotStrictJSONIsRefusedAndOddTimesAreNoTime() throws {
        for bad in [#"{"a":1,"a":2}"#, #"{"a":"\u+041"}"#, #"{"a":01}"#, #"{"a":1} x"#, #"[1,]"#, "{\"a\":\"\u{01}\"}"] {
            #expect(throws: WebhookEnvelope.Malformed.self, "\(bad)") { try WebhookEnvelope(Data(bad.utf8)) }
        }
        #expect(throws: WebhookEnvelope.Malformed.self) { try WebhookEnvelope(Data([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D])) }
        // Huge or fractional times do not crash the reader; they are simply not a time.
        for time in ["1e400", "1e19", "99999999999999999999", "1.5"] {
            let envelope = try WebhookEnvelope(Data(#"{"entry":[{"id":"1","time":\#(time),"changes":[]}]}"#.utf8))
            #expect(envelope.entries.first?.time == nil)
        }
    }
}
