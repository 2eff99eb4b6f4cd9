import Foundation
import Testing
import JSON

/// The form an Idempotency-Key's retry is compared in.
@Suite struct CanonicalJSONTests {
    func canonical(_ text: String) -> String? {
        CanonicalJSON.canonical(Data(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func oneValueWrittenAnyWayHasOneForm() {
        #expect(canonical(#"{"b":1,"a":[true,false,null],"c":{"y":"x","x":"y"}}"#)
                == #"{"a":[true,false,null],"b":1,"c":{"x":"y","y":"x"}}"#)
        #expect(canonical(" {\n  \"c\" : { \"x\" : \"y\" , \"y\":\"x\" },\t\"a\" : [ true , false , null ] ,\r\n \"b\" : 1 } ")
                == #"{"a":[true,false,null],"b":1,"c":{"x":"y","y":"x"}}"#)
        // Escapes resolved and written once: \u0041 is A, \/ is /, a surrogate pair is its character.
        #expect(canonical(#"{"k":"\u0041\/\ud83d\ude00\n\"\\"}"#) == "{\"k\":\"A/😀\\u000a\\\"\\\\\"}")
        #expect(canonical(#"{"\u006b":"é"}"#) == canonical(#"{"k":"\u00e9"}"#))
        // Numbers as the value they denote; integers keep every digit.
        #expect(canonical("[1, 1.0, 1e0, 10E-1, -0.5, 2.50, 1.5e3]") == "[1,1,1,1,-0.5,2.5,1500]")
        #expect(canonical("12345678901234567891") == "12345678901234567891")
        #expect(canonical("12345678901234567891") != canonical("12345678901234567892"))
        #expect(canonical("1e15") == canonical("1000000000000000"))
        // Numbers a double cannot hold apart stay their text: never equal to another value.
        #expect(canonical("1e-400") != canonical("0") && canonical("1e-400") != canonical("2e-400"))
        #expect(canonical("4e-324") != canonical("5e-324"))
        // Keys sort by their bytes.
        #expect(canonical(#"{"b":1,"B":2,"a":3}"#) == #"{"B":2,"a":3,"b":1}"#)
        #expect(canonical(#"{}"#) == "{}" && canonical("[ ]") == "[]" && canonical(#""x""#) == #""x""#)
    }

    /// For `jsonb`, which refuses U+0000: each NUL, in keys and values, becomes U+FFFD; an
    /// escaped backslash followed by `u0000` is text and stays.
    @Test func replacingNULTouchesOnlyNULs() throws {
        let form = try #require(CanonicalJSON.canonical(Data(#"{"k\u0000":["\u0000a\u0000","\\u0000","\u0001\\"]}"#.utf8)))
        #expect(String(decoding: form, as: UTF8.self) == #"{"k\u0000":["\u0000a\u0000","\\u0000","\u0001\\"]}"#)
        #expect(String(decoding: CanonicalJSON.replacingNUL(form), as: UTF8.self)
                    == "{\"k\u{FFFD}\":[\"\u{FFFD}a\u{FFFD}\",\"\\\\u0000\",\"\\u0001\\\\\"]}")
        let plain = try #require(CanonicalJSON.canonical(Data(#"{"a":"\\u0000 \u0001"}"#.utf8)))
        #expect(CanonicalJSON.replacingNUL(plain) == plain)
    }

    @Test func differentValuesStayDifferent() {
        let forms = [#"{"a":1}"#, #"{"a":"1"}"#, #"{"a":true}"#, #"{"a":null}"#, #"{"a":[1]}"#, #"{"a":{}}"#,
                     #"{"a":1,"b":1}"#, #"{"A":1}"#, #"{"a":"x "}"#, #"{"a":1.5}"#, #"{"a":-1}"#]
        let canonicalForms = forms.compactMap(canonical)
        #expect(canonicalForms.count == forms.count)
        #expect(Set(canonicalForms).count == forms.count)
    }

    @Test func whatIsNotOneJSONValueHasNoForm() {
        for text in ["", "{", #"{"a":}"#, #"{"a" 1}"#, "[1,]", "{,}", "01", "1.", "-", "+1", ".5", "1e", "tru", "nul",
                     #""\x""#, #""\u12""#, #""\ud800""#, #""\udc00x""#, "\"a\u{1}\"", "{} {}", #"{"a":1}x"#, "'a'", #"{"a":1,"a":2}"#] {
            #expect(canonical(text) == nil, "\(text)")
        }
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(canonical(deep) == nil)
        let allowed = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect(canonical(allowed) == allowed)
        #expect(canonical(String(repeating: "[", count: 65) + String(repeating: "]", count: 65)) == nil)
        // Not UTF-8, so not JSON.
        #expect(CanonicalJSON.canonical(Data([0x22, 0xC3, 0x28, 0x22])) == nil)
        #expect(CanonicalJSON.canonical(Data([0x22, 0xFF, 0x22])) == nil)
    }

    /// Bodies Foundation writes from one object, compact or pretty, keys in any order, agree.
    @Test func foundationsSerialisationsOfOneObjectAgree() throws {
        var generator = SystemRandomNumberGenerator()
        func value(_ depth: Int) -> Any {
            switch Int.random(in: 0..<(depth > 2 ? 5 : 7), using: &generator) {
            case 0: return Int.random(in: -1_000_000...1_000_000, using: &generator)
            case 1: return ["plain", "é ü", "quote \" and \\", "line\nbreak", "/slash/", "😀"][Int.random(in: 0..<6, using: &generator)]
            case 2: return Bool.random(using: &generator)
            case 3: return NSNull()
            case 4: return Double(Int.random(in: -9999...9999, using: &generator)) / 8
            case 5: return (0..<Int.random(in: 0..<4, using: &generator)).map { _ in value(depth + 1) }
            default:
                var object: [String: Any] = [:]
                for index in 0..<Int.random(in: 0..<5, using: &generator) { object["k\(index)\(Int.random(in: 0..<3))"] = value(depth + 1) }
                return object
            }
        }
        for _ in 0..<200 {
            let object: [String: Any] = ["root": value(0), "other": value(0)]
            let compact = try JSONSerialization.data(withJSONObject: object)
            let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            let a = CanonicalJSON.canonical(compact), b = CanonicalJSON.canonical(pretty)
            #expect(a != nil && a == b, "\(String(decoding: compact, as: UTF8.self))")
        }
    }
}

@Suite struct QuotedJSONTests {
    @Test func aStringIsQuotedSoAParserReadsItBack() throws {
        for text in ["evt_1", "onboarding.completed", "a \"quoted\" \\ word", "tab\tand\nline\u{1}", "ünï/cödé ✓", ""] {
            let quoted = CanonicalJSON.quoted(text)
            #expect(try JSONDecoder().decode(String.self, from: Data(quoted.utf8)) == text, "\(quoted)")
        }
        #expect(CanonicalJSON.quoted("a\"b\n") == #""a\"b\u000a""#)
    }
}
