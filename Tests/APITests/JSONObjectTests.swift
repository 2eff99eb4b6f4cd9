import Foundation
import JSON
import Testing
@testable import Dualhook

/// A nested object of a request body as the text that is stored (`JSONObject.object`).
@Suite struct JSONObjectTests {
    func object(_ json: String, maxBytes: Int = 4096) throws -> String? {
        try JSONObject(body: Data(json.utf8)).object("metadata", maxBytes: maxBytes)
    }

    func parsed(_ text: String?) throws -> NSDictionary {
        let data = Data(try #require(text).utf8)
        return try #require(try JSONSerialization.jsonObject(with: data) as? NSDictionary)
    }

    @Test func isCompactJSONOfTheSameValue() throws {
        let json = #"{"tenantId": "t", "metadata": {"plan": "pro", "n": 12, "x": 2.5, "ok": true, "none": null, "#
            + #""deep": {"list": [1, "a\"b\\c", "é ✓", "\/path"]}, "empty": {}}}"#
        let text = try object(json)
        let whole = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? NSDictionary)
        #expect(try parsed(text) == whole["metadata"] as? NSDictionary)
        #expect(text?.hasPrefix(#"{"deep":{"list":[1,"a\"b\\c","é ✓","/path"]},"empty":{}"#) == true)
        // Large integers keep their digits.
        #expect(try object(#"{"metadata": {"id": 123456789012345678901}}"#) == #"{"id":123456789012345678901}"#)
    }

    @Test func bodiesTheScannerRefusesStillGiveTheObject() throws {
        // A repeated key elsewhere in the body: Foundation's parse takes it, the scanner does not.
        let text = try object(#"{"tenantId": "a", "tenantId": "b", "metadata": {"plan": "pro"}}"#)
        #expect(try parsed(text)["plan"] as? String == "pro")
    }

    @Test func theSizeCountsShortEscapesAsFoundationWritesThem() throws {
        // 1,000 newlines: 2,000 bytes as Foundation writes them, 6,000 as `\u000a`.
        let lines = String(repeating: #"\n"#, count: 1000)
        let text = try object(#"{"metadata": {"notes": "\#(lines)"}}"#)
        #expect(try parsed(text)["notes"] as? String == String(repeating: "\n", count: 1000))
        #expect(CanonicalJSON.sizeWithShortEscapes(Data(#"{"a":"\u000a\\u000a\u0001\t"}"#.utf8)) == 29 - 4)
        // Over the limit by Foundation's count still refused.
        #expect(throws: APIError.self) { try object(#"{"metadata": {"notes": "\#(String(repeating: #"\n"#, count: 2100))"}}"#) }
    }

    @Test func sizeAndTypeAreChecked() throws {
        #expect(try object(#"{"metadata": null}"#) == nil)
        #expect(try object(#"{"other": 1}"#) == nil)
        #expect(throws: APIError.self) { try object(#"{"metadata": [1]}"#) }
        #expect(throws: APIError.self) { try object(#"{"metadata": {"blob": "\#(String(repeating: "m", count: 100))"}}"#, maxBytes: 50) }
        #expect(throws: APIError.self) { try object(#"{"metadata": {"k": "a\u0000b"}}"#) }
    }

    /// The same value, with a boolean still a boolean and a number the same number.
    static func same(_ a: Any, _ b: Any) -> Bool {
        switch (a, b) {
        case (let x as String, let y as String): return x == y
        case (is NSNull, is NSNull): return true
        case (let x as NSNumber, let y as NSNumber):
            return JSONObject.isBoolean(x) == JSONObject.isBoolean(y) && x.doubleValue == y.doubleValue
        case (let x as [Any], let y as [Any]): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (let x as [String: Any], let y as [String: Any]):
            return Set(x.keys) == Set(y.keys) && x.allSatisfy { key, value in same(value, y[key]!) }
        default: return false
        }
    }

    @Test func fieldsFromTheScannerAreFoundationsFields() throws {
        let bodies = [
            #"{"tenantId": "cust_1", "coexistence": true, "expiresInSeconds": 3600, "metadata": {"plan": "pro"}}"#,
            #"{"a": false, "b": null, "c": 0, "d": -12, "e": 2.5, "f": 1e3, "g": -0.0, "h": [1, "x", [true, {}]], "i": "é\n\u00e9"}"#,
            #"{"big": 9223372036854775807, "bigger": 92233720368547758070, "tiny": 1e-300, "exp": 5E+2}"#,
            #"{}"#,
        ]
        for json in bodies {
            let data = Data(json.utf8)
            let document = try #require(JSONDocument(utf8: data))
            let scanned = try JSONObject(body: data, document: document).fields
            let foundation = try JSONObject(body: data).fields
            #expect(Self.same(scanned, foundation), "\(json)")
        }
        // What a session request reads from them.
        let object = try JSONObject(body: Data(bodies[0].utf8), document: JSONDocument(utf8: Data(bodies[0].utf8)))
        #expect(try object.bool("coexistence") == true)
        #expect(try object.integer("expiresInSeconds", range: 300...86_400) == 3600)
        #expect(throws: APIError.self) { try object.integer("coexistence", range: 0...1) }
        #expect(throws: APIError.self) { try object.bool("expiresInSeconds") }
    }

    @Test func aNumberNoDoubleHoldsIsLeftToFoundation() throws {
        let data = Data(#"{"expiresInSeconds": 1e400}"#.utf8)
        let document = try #require(JSONDocument(utf8: data))
        #expect(JSONObject.foundationValue(document.root, in: document.bytes) == nil)
        // Whatever Foundation makes of it, the answer is a typed error, as without the scanner.
        #expect(throws: APIError.self) {
            try JSONObject(body: data, document: document).integer("expiresInSeconds", range: 300...86_400)
        }
    }
}
