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
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 2 + count * 2)
        out[0] = UInt8(ascii: "\\")
        out[1] = UInt8(ascii: "x")
        var i = 2
        for byte in self {
            out[i] = digits[Int(byte >> 4)]
            out[i + 1] = digits[Int(byte & 0x0f)]
            i += 2
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A one-dimensional array literal (`{1,2,3}` / `{"a","b"}`), for `= ANY($1)` and `unnest($1)`.
extension Array: PostgresEncodable where Element: PostgresEncodable {
    public var postgresText: String {
        // Over UTF-8 bytes: a batch's array carries every value of the batch.
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (i, element) in enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            for byte in element.postgresText.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
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
