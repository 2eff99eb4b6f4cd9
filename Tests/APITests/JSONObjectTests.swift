import Foundation
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
        #expect(text?.contains(" ") == true)  // inside "é ✓" only
        #expect(text?.hasPrefix(#"{"deep":{"list":[1,"a\"b\\c","é ✓","/path"]},"empty":{}"#) == true)
        // Large integers keep their digits.
        #expect(try object(#"{"metadata": {"id": 123456789012345678901}}"#) == #"{"id":123456789012345678901}"#)
    }

    @Test func bodiesTheScannerRefusesStillGiveTheObject() throws {
        // A repeated key elsewhere in the body: Foundation's parse takes it, the scanner does not.
        let text = try object(#"{"tenantId": "a", "tenantId": "b", "metadata": {"plan": "pro"}}"#)
        #expect(try parsed(text)["plan"] as? String == "pro")
    }

    @Test func sizeAndTypeAreChecked() throws {
        #expect(try object(#"{"metadata": null}"#) == nil)
        #expect(try object(#"{"other": 1}"#) == nil)
        #expect(throws: APIError.self) { try object(#"{"metadata": [1]}"#) }
        #expect(throws: APIError.self) { try object(#"{"metadata": {"blob": "\#(String(repeating: "m", count: 100))"}}"#, maxBytes: 50) }
        #expect(throws: APIError.self) { try object(#"{"metadata": {"k": "a\u0000b"}}"#) }
    }
}
