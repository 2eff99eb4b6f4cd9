import Foundation

/// A Swift value that can be bound as a statement parameter.
///
/// Parameters travel in Postgres's text format and the server infers their types from the
/// statement, so every bound value is a string on the wire and never part of the SQL text.
public protocol PostgresEncodable: Sendable {
    var postgresText: String { get }
}

extension String: PostgresEncodable { public var postgresText: String { self } }
extension Substring: PostgresEncodable { public var postgresText: String { String(self) } }
extension Int: PostgresEncodable { public var postgresText: String { String(self) } }
extension Int64: PostgresEncodable { public var postgresText: String { String(self) } }
extension Int32: PostgresEncodable { public var postgresText: String { String(self) } }
extension Int16: PostgresEncodable { public var postgresText: String { String(self) } }
extension Bool: PostgresEncodable { public var postgresText: String { self ? "t" : "f" } }
extension UUID: PostgresEncodable { public var postgresText: String { uuidString.lowercased() } }

extension Double: PostgresEncodable {
    public var postgresText: String {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return "\(self)"
    }
}

extension Date: PostgresEncodable {
    public var postgresText: String { PostgresTimestamp.format(self) }
}

/// bytea in hex form (`\x0a1b…`).
extension Data: PostgresEncodable {
    public var postgresText: String {
        // Over the bytes in place: `Data`'s iterator cost ~12,000 instructions for a 32-byte
        // token hash (callgrind over the sessions front).
        withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: 2 + bytes.count * 2) { out in
                let digits: StaticString = "0123456789abcdef"
                out[0] = UInt8(ascii: "\\")
                out[1] = UInt8(ascii: "x")
                digits.withUTF8Buffer { digits in
                    for (offset, byte) in bytes.enumerated() {
                        out[2 + 2 * offset] = digits[Int(byte >> 4)]
                        out[3 + 2 * offset] = digits[Int(byte & 0x0f)]
                    }
                }
                return 2 + bytes.count * 2
            }
        }
    }
}

/// A one-dimensional array literal (`{1,2,3}` / `{"a","b"}`), for `= ANY($1)` and `unnest($1)`.
extension Array: PostgresEncodable where Element: PostgresEncodable {
    public var postgresText: String {
        // Over UTF-8 bytes: a batch's array carries every value of the batch. By index, and
        // the quoting in a function that is not generic: values reach this getter as
        // `any PostgresEncodable`, so it runs unspecialised, where `enumerated()`'s generic
        // iterator alone cost ~1,500 instructions an element (callgrind over the sessions front).
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(2 + count * 24)
        var index = 0
        while index < count {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            PostgresArrayText.append(quoted: self[index].postgresText, to: &out)
            index += 1
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

enum PostgresArrayText {
    /// `text` as a quoted element of an array literal, `"` and `\` escaped by a backslash. The
    /// runs between them are copied in one piece: a bytea's `\x…` and a JSON text hold them.
    static func append(quoted text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var run = 0
            for index in bytes.indices where bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<index]))
                out.append(UInt8(ascii: "\\"))
                run = index  // the escaped byte starts the next run
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// A value stored as `json`/`jsonb`: encoded with `JSONEncoder`, decoded with `JSONDecoder`.
public struct PostgresJSON<Value: Codable & Sendable>: PostgresEncodable, Sendable {
    public var value: Value
    public init(_ value: Value) { self.value = value }
    public var postgresText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // Encoding a Codable value this module was handed is not expected to fail; an empty
        // object keeps the statement well-formed and the decode side reports the problem.
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Raw JSON text already serialised by the caller.
public struct PostgresRawJSON: PostgresEncodable, Sendable {
    public var text: String
    public init(_ text: String) { self.text = text }
    public var postgresText: String { text }
}
