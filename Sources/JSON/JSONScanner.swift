import Foundation

/// A JSON value's place in the bytes, with its structure: strings decoded, numbers and
/// literals left as their bytes (`range`).
public struct JSONNode: Sendable {
    public enum Kind: Sendable {
        case object([(key: String, value: JSONNode)])
        case array([JSONNode])
        case string(String)
        case scalar
    }
    public let kind: Kind
    public let range: Range<Int>

    public func string(in bytes: [UInt8]) -> String? {
        if case .string(let text) = kind { return text }
        return nil
    }

    /// A number's text as written (ids are sometimes numbers).
    public func number(in bytes: [UInt8]) -> String? {
        guard case .scalar = kind else { return nil }
        let text = String(decoding: bytes[range], as: UTF8.self)
        return text.first.map { $0 == "-" || $0.isNumber } == true ? text : nil
    }
}

/// A strict JSON reader (RFC 8259) that keeps where each value starts and ends: Meta's webhook
/// envelopes and the canonical form of request bodies are read with it. A repeated key is
/// refused (a receiver may read either of two equal keys).
public struct JSONScanner {
    public let bytes: [UInt8]
    var index = 0
    /// Deeper nesting than this is refused rather than recursed into.
    public static let maxDepth = 64

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The one value `bytes` holds; `Invalid` when they are not exactly one JSON value.
    public mutating func document() throws -> JSONNode {
        let node = try value(depth: 0)
        skipSpace()
        guard index == bytes.count else { throw fail("trailing characters") }
        return node
    }

    func fail(_ what: String) -> Invalid {
        Invalid(description: "invalid JSON at byte \(index): \(what)")
    }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws -> JSONNode {
        guard depth < JSONScanner.maxDepth else { throw fail("nested too deeply") }
        skipSpace()
        guard index < bytes.count else { throw fail("unexpected end") }
        let start = index
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var members: [(key: String, value: JSONNode)] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return JSONNode(kind: .object(members), range: start..<index)
            }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try string()
                // A receiver may read either of two equal keys; refusing them keeps every reader of
                // the value on the same one.
                guard !members.contains(where: { $0.key == key }) else { throw fail("duplicate key \"\(key)\"") }
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                index += 1
                members.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard index < bytes.count else { throw fail("unexpected end") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                guard bytes[index] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
                index += 1
                return JSONNode(kind: .object(members), range: start..<index)
            }
        case UInt8(ascii: "["):
            index += 1
            var items: [JSONNode] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return JSONNode(kind: .array(items), range: start..<index)
            }
            while true {
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard index < bytes.count else { throw fail("unexpected end") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                guard bytes[index] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
                index += 1
                return JSONNode(kind: .array(items), range: start..<index)
            }
        case UInt8(ascii: "\""):
            let text = try string()
            return JSONNode(kind: .string(text), range: start..<index)
        case UInt8(ascii: "t"): return try literal("true", start)
        case UInt8(ascii: "f"): return try literal("false", start)
        case UInt8(ascii: "n"): return try literal("null", start)
        default:
            try number()
            return JSONNode(kind: .scalar, range: start..<index)
        }
    }

    mutating func literal(_ word: StaticString, _ start: Int) throws -> JSONNode {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count,
              bytes[index..<index + count].elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: count)) else {
            throw fail("expected \(word)")
        }
        index += count
        return JSONNode(kind: .scalar, range: start..<index)
    }

    mutating func number() throws {
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits() -> Int {
            let from = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            return index - from
        }
        let integer = index
        guard digits() > 0 else { throw fail("expected a value") }
        if bytes[integer] == UInt8(ascii: "0"), index - integer > 1 { throw fail("leading zero") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw fail("expected digits after '.'") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw fail("expected an exponent") }
        }
        guard index > start else { throw fail("expected a value") }
    }

    /// A string literal at `index` (on its opening quote), decoded.
    mutating func string() throws -> String {
        index += 1
        // Most strings hold no escape: made from their bytes in one piece, not appended byte by
        // byte (with the literals compared in place, a delivery job's arguments went from 35M
        // to 16M instructions over 2,000 deliveries, callgrind).
        let first = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 {
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            index += 1
            return String(decoding: bytes[first..<index - 1], as: UTF8.self)
        }
        var out = Array(bytes[first..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index + 1 < bytes.count else { throw fail("unfinished escape") }
                let next = bytes[index + 1]
                index += 2
                switch next {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                       bytes[index + 1] == UInt8(ascii: "u") {
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("invalid surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    throw fail("invalid escape")
                }
            case 0x00..<0x20:
                throw fail("control character in a string")
            default:
                out.append(byte)
                index += 1
            }
        }
        throw fail("unfinished string")
    }

    mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count, bytes[index..<index + 4].allSatisfy({ $0 < 0x80 && Character(Unicode.Scalar($0)).isHexDigit }),
              let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
            throw fail("invalid \\u escape")
        }
        index += 4
        return value
    }
}
