import Crypto
import Foundation
import Testing
@testable import Dualhook

/// What a receiver gets: the body a delivery sends and its two signature headers, checked
/// against the documented formulas computed here over the joined bytes.
@Suite struct EventSignatureTests {
    let secrets = ["whsec_" + Data("first secret key of 24 b".utf8).base64EncodedString(),
                   "whsec_" + Data("the older one, rotated out".utf8).base64EncodedString()]
    let body = Data(#"{"id":"evt_1","type":"onboarding.completed","data":{"plan":"pro ✓"}}"#.utf8)

    @Test func dualhookHeaderSignsTimestampDotBodyWithEachSecretString() {
        let header = EventSignature.dualhook(secrets: secrets, timestamp: 1_764_000_000, body: body)
        let expected = secrets.map {
            "v1=" + Digest.hmacSHA256(key: Data($0.utf8), message: Data("1764000000.".utf8) + body).hexString
        }
        #expect(header == (["t=1764000000"] + expected).joined(separator: ","))
    }

    @Test func standardHeaderSignsIdDotTimestampDotBodyWithEachDecodedKey() {
        let header = EventSignature.standard(secrets: secrets, id: "evt_1", timestamp: 1_764_000_000, body: body)
        let expected = secrets.map {
            "v1," + Digest.hmacSHA256(key: Data(base64Encoded: String($0.dropFirst(6)))!,
                                      message: Data("evt_1.1764000000.".utf8) + body).base64EncodedString()
        }
        #expect(header == expected.joined(separator: " "))
        // A secret that is not whsec_<base64> signs nothing in this family.
        #expect(EventSignature.standard(secrets: ["plain"], id: "evt_1", timestamp: 1, body: body) == "")
    }

    @Test func theBodyIsOneJSONObjectWithItsStringsEscaped() throws {
        let body = DeliveryStore.body(eventID: "evt_\"q\\", type: "type\u{1}\n✓", createdAt: "2026-12-04T01:02:03.456Z",
                                      data: #"{"tenantId": "cust_1", "n": [1, 2.5]}"#)
        let object = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(object["id"] as? String == "evt_\"q\\")
        #expect(object["type"] as? String == "type\u{1}\n✓")
        #expect(object["createdAt"] as? String == "2026-12-04T01:02:03.456Z")
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["tenantId"] as? String == "cust_1")
        #expect(Array(object.keys).sorted() == ["createdAt", "data", "id", "type"])
        #expect(String(decoding: body, as: UTF8.self).hasPrefix(#"{"id":"evt_\"q\\","type":"#))
    }

    @Test func hexIsLowerCaseTwoDigitsAByte() {
        #expect(Data().hexString == "")
        #expect(Data((0...255).map { UInt8($0) }).hexString.count == 512)
        #expect(Data([0x00, 0x0f, 0xa0, 0xff]).hexString == "000fa0ff")
        #expect(Data([0x01, 0x02, 0x03]).dropFirst().hexString == "0203")
    }
}
