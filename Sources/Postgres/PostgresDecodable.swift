import Foundation

/// A Swift type that can be read from a column's text representation.
public protocol PostgresDecodable {
    static func decode(postgresText text: UnsafeBufferPointer<UInt8>) throws -> Self
    /// Called for SQL NULL; only optionals accept it.
    static func decodeNull() throws -> Self
}

extension PostgresDecodable {
    public static func decodeNull() throws -> Self {
        throw PostgresError(.decoding, "unexpected NULL for \(Self.self)")
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) throws -> Self {
        try Wrapped.decode(postgresText: text)
    }
    public static func decodeNull() throws -> Self { nil }
}

extension String: PostgresDecodable {
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) throws -> String {
        String(decoding: text, as: UTF8.self)
    }
}

private func decodeInteger<T: FixedWidthInteger>(_ text: UnsafeBufferPointer<UInt8>, as: T.Type) throws -> T {
    guard !text.isEmpty else { throw PostgresError(.decoding, "empty text for \(T.self)") }
    var value: T = 0
    var negative = false
    var index = 0
    if text[0] == UInt8(ascii: "-") { negative = true; index = 1 }
    guard index < text.count else { throw PostgresError(.decoding, "not an integer") }
    while index < text.count {
        let digit = text[index] &- UInt8(ascii: "0")
        guard digit < 10 else { throw PostgresError(.decoding, "not an integer") }
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (s, o2) = negative ? m.subtractingReportingOverflow(T(digit)) : m.addingReportingOverflow(T(digit))
        guard !o1, !o2 else { throw PostgresError(.decoding, "integer overflows \(T.self)") }
        value = s
        index += 1
    }
    return value
}

extension Int: PostgresDecodable {
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) throws -> Int { try decodeInteger(text, as: Int.self) }
}
extension Int64: PostgresDecodable {
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) throws -> Int64 { try decodeInteger(text, as: Int64.self) }
}
extension Int32: PostgresDecodable {
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) throws -> Int32 { try decodeInteger(text, as: Int32.self) }
}
extension Int16: PostgresDecodable {
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) throws -> Int16 { try decodeInteger(text, as: Int16.self) }
}

extension Bool: PostgresDecodable {
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) throws -> Bool {
        guard text.count == 1 else { throw PostgresError(.decoding, "not a boolean") }
        switch text[0] {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        default: throw PostgresError(.decoding, "not a boolean")
        }
    }
}

extension Double: PostgresDecodable {
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) throws -> Double {
        guard let value = Double(String(decoding: text, as: UTF8.self)) else {
            throw PostgresError(.decoding, "not a number")
        }
        return value
    }
}

extension UUID: PostgresDecodable {
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) throws -> UUID {
        guard let value = UUID(uuidString: String(decoding: text, as: UTF8.self)) else {
            throw PostgresError(.decoding, "not a uuid")
        }
        return value
    }
}

extension Date: PostgresDecodable {
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) throws -> Date {
        try PostgresTimestamp.parse(text)
    }
}

/// bytea arrives in hex form (`\x…`) with the server's default `bytea_output`.
extension Data: PostgresDecodable {
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) throws -> Data {
        guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else {
            throw PostgresError(.decoding, "bytea is not in hex format")
        }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: throw PostgresError(.decoding, "bad hex digit in bytea")
            }
        }
        var out = Data(capacity: (text.count - 2) / 2)
        var i = 2
        while i < text.count {
            out.append(try nibble(text[i]) << 4 | nibble(text[i + 1]))
            i += 2
        }
        return out
    }
}

extension PostgresJSON: PostgresDecodable {
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) throws -> PostgresJSON<Value> {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return PostgresJSON(try decoder.decode(Value.self, from: Data(buffer: text)))
        } catch {
            throw PostgresError(.decoding, "json does not decode as \(Value.self): \(error)")
        }
    }
}

extension PostgresRawJSON: PostgresDecodable {
    public static func decode(postgresText text: UnsafeBufferPointer<UInt8>) throws -> PostgresRawJSON {
        PostgresRawJSON(String(decoding: text, as: UTF8.self))
    }
}
