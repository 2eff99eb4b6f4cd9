import Foundation
import Testing
import JSON

/// The batches a worker hands to `jsonb_to_recordset`: what `JSONRows` writes must read back,
/// with Foundation's parser, as the values that went in.
@Suite struct JSONRowsTests {
    func parsed(_ rows: JSONRows) throws -> [[String: Any]] {
        let value = try JSONSerialization.jsonObject(with: Data(rows.json.utf8))
        return try #require(value as? [[String: Any]])
    }

    @Test func valuesReadBackAsWritten() throws {
        let awkward = "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} é 😀"
        let time = 1_764_806_400.123456
        var rows = JSONRows()
        rows.add {
            $0.add("text", awkward)
            $0.add("plain", "evt_01H8")
            $0.add("missing", nil as String?)
            $0.add("count", 42)
            $0.add("big", Int64.max)
            $0.add("negative", -7)
            $0.add("time", time)
            $0.add("notANumber", Double.nan)
            $0.add("yes", true)
            $0.add("no", false)
            $0.add("unknown", nil as Bool?)
        }
        rows.add { $0.add("text", "") }
        let objects = try parsed(rows)
        #expect(objects.count == 2)
        let first = objects[0]
        #expect(first["text"] as? String == awkward)
        #expect(first["plain"] as? String == "evt_01H8")
        #expect(first["missing"] is NSNull)
        #expect((first["count"] as? NSNumber)?.intValue == 42)
        #expect((first["big"] as? NSNumber)?.int64Value == Int64.max)
        #expect((first["negative"] as? NSNumber)?.intValue == -7)
        // Microseconds since 1970 survive the trip.
        #expect((first["time"] as? NSNumber)?.doubleValue == time)
        #expect(first["notANumber"] is NSNull)
        #expect((first["yes"] as? NSNumber)?.boolValue == true)
        #expect((first["no"] as? NSNumber)?.boolValue == false)
        #expect(first["unknown"] is NSNull)
        #expect(objects[1]["text"] as? String == "")
        #expect(rows.json.hasPrefix(#"[{"text":"quote \"#))
    }

    @Test func noRowsIsAnEmptyArray() throws {
        #expect(JSONRows().json == "[]")
        #expect(try parsed(JSONRows()).isEmpty)
    }

    @Test func quotedCopiesPlainTextAndEscapesTheRest() {
        #expect(CanonicalJSON.quoted("plain") == #""plain""#)
        #expect(CanonicalJSON.quoted("a\"b\\c\n") == #""a\"b\\c\u000a""#)
        var out: [UInt8] = Array("x".utf8)
        CanonicalJSON.append(quoted: "é", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "x\"é\"")
    }
}
