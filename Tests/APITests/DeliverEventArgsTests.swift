import Foundation
import Testing
@testable import Dualhook

/// A delivery job's arguments read as `JSONDecoder` reads them, in the forms Postgres writes
/// `jsonb` back (spaces after `:` and `,`) and the forms jobs of earlier releases hold.
@Suite struct DeliverEventArgsTests {
    func both(_ json: String) -> (fast: DeliverEvent.Args?, foundation: DeliverEvent.Args?) {
        (try? DeliverEvent.decodeArgs(Data(json.utf8)), try? JSONDecoder().decode(DeliverEvent.Args.self, from: Data(json.utf8)))
    }

    func same(_ a: DeliverEvent.Args?, _ b: DeliverEvent.Args?) -> Bool {
        a?.eventId == b?.eventId && a?.accountId == b?.accountId && a?.endpointId == b?.endpointId && a?.again == b?.again
            && (a == nil) == (b == nil)
    }

    @Test func readsWhatJSONDecoderReads() {
        let accepted = [
            #"{"again": true, "eventId": "evt_1", "accountId": "acc_1", "endpointId": "ep_1"}"#,
            #"{"eventId":"evt_2"}"#,
            #"{"eventId": "evt_3", "accountId": null, "endpointId": null, "again": null}"#,
            #"{"eventId": "evt_\u00e9\"4", "again": false, "later": {"a": [1, 2]}}"#,
        ]
        for json in accepted {
            let (fast, foundation) = both(json)
            #expect(fast != nil, "\(json)")
            #expect(same(fast, foundation), "\(json)")
        }
        #expect(both(accepted[3]).fast?.eventId == "evt_é\"4")
        let refused = [
            #"{"accountId": "acc_1"}"#, #"{"eventId": 5}"#, #"{"eventId": null}"#, #"{"eventId": "e", "again": "yes"}"#,
            #"{"eventId": "e", "endpointId": 7}"#, #"["evt_1"]"#, "", "{", #"{"eventId": "e"} x"#,
        ]
        for json in refused {
            let (fast, foundation) = both(json)
            #expect(fast == nil, "\(json)")
            #expect(foundation == nil, "\(json)")
        }
    }
}
