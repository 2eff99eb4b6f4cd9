import Foundation

/// One byte form for every serialisation of the same JSON value, for comparing an
/// Idempotency-Key's retry with its first request: object keys sorted by their UTF-8 bytes
/// (a repeated key keeps its last value), no insignificant whitespace, strings with their
/// escapes resolved and only `"`, `\` and control characters escaped again, and numbers as
/// the value they denote (`1.0`, `1e0` and `1` are one number; an integer keeps its digits
/// however long, so two large ids never meet in one double).
///
/// Written over bytes because Foundation's `JSONSerialization` with `.sortedKeys` sorts by a
/// locale-aware comparison and boxes every value: it was a fifth of the front's CPU time per
/// session request (`perf`, `ops/bench/api`).
enum CanonicalJSON {
    /// The canonical form, or nil when `body` is not one JSON value (or nests deeper than
    /// `maxDepth`).
    static func canonical(_ body: Data) -> Data? {
        // Not JSON unless UTF-8 (escapes aside, the parser copies string bytes as they are).
        guard String(validating: body, as: UTF8.self) != nil else { return nil }
        return body.withUnsafeBytes { raw -> Data? in
            var parser = Parser(bytes: raw.bindMemory(to: UInt8.self))
            var out: [UInt8] = []
            out.reserveCapacity(raw.count)
            guard parser.value(into: &out, depth: 0) else { return nil }
            parser.skipWhitespace()
            guard parser.index == parser.bytes.count else { return nil }
            return Data(out)
        }
    }

    /// Deeper bodies are compared as their bytes: each level copies its members once more,
    /// so depth bounds the work (Meta's envelope scanner stops at 64 too).
    static let maxDepth = 64

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value(into out: inout [UInt8], depth: Int) -> Bool {
            guard depth < CanonicalJSON.maxDepth else { return false }
            skipWhitespace()
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "{"): return object(into: &out, depth: depth)
            case UInt8(ascii: "["): return array(into: &out, depth: depth)
            case UInt8(ascii: "\""):
                guard let text = string() else { return false }
                Self.write(string: text, into: &out)
                return true
            case UInt8(ascii: "t"): return literal("true", into: &out)
            case UInt8(ascii: "f"): return literal("false", into: &out)
            case UInt8(ascii: "n"): return literal("null", into: &out)
            default: return number(into: &out)
            }
        }

        mutating func literal(_ word: StaticString, into out: inout [UInt8]) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            out.append(contentsOf: UnsafeBufferPointer(start: word.utf8Start, count: count))
            return true
        }

        mutating func object(into out: inout [UInt8], depth: Int) -> Bool {
            index += 1
            var members: [(key: [UInt8], value: [UInt8])] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
            } else {
                while true {
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return false }
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return false }
                    index += 1
                    var member: [UInt8] = []
                    guard value(into: &member, depth: depth + 1) else { return false }
                    members.append((key, member))
                    skipWhitespace()
                    guard index < bytes.count else { return false }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    guard bytes[index] == UInt8(ascii: "}") else { return false }
                    index += 1
                    break
                }
            }
            // A stable sort keeps repeated keys in order; the last of each is kept.
            let sorted = members.enumerated().sorted { a, b in
                a.element.key.lexicographicallyPrecedes(b.element.key) || (a.element.key == b.element.key && a.offset < b.offset)
            }.map(\.element)
            out.append(UInt8(ascii: "{"))
            var first = true
            for (position, member) in sorted.enumerated() {
                if position + 1 < sorted.count, sorted[position + 1].key == member.key { continue }
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                Self.write(string: member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: member.value)
            }
            out.append(UInt8(ascii: "}"))
            return true
        }

        mutating func array(into out: inout [UInt8], depth: Int) -> Bool {
            index += 1
            out.append(UInt8(ascii: "["))
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
            } else {
                var first = true
                while true {
                    if !first { out.append(UInt8(ascii: ",")) }
                    first = false
                    guard value(into: &out, depth: depth + 1) else { return false }
                    skipWhitespace()
                    guard index < bytes.count else { return false }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    guard bytes[index] == UInt8(ascii: "]") else { return false }
                    index += 1
                    break
                }
            }
            out.append(UInt8(ascii: "]"))
            return true
        }

        /// A string's UTF-8 bytes with its escapes resolved; at the opening quote.
        mutating func string() -> [UInt8]? {
            index += 1
            var text: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""): return text
                case 0..<0x20: return nil
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escape)
                    case UInt8(ascii: "b"): text.append(0x08)
                    case UInt8(ascii: "f"): text.append(0x0C)
                    case UInt8(ascii: "n"): text.append(0x0A)
                    case UInt8(ascii: "r"): text.append(0x0D)
                    case UInt8(ascii: "t"): text.append(0x09)
                    case UInt8(ascii: "u"):
                        guard var scalar = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(scalar) {
                            // A high surrogate must be followed by an escaped low one.
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                            else { return nil }
                            index += 2
                            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00..<0xE000).contains(scalar) {
                            return nil
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { return nil }
                        text.append(contentsOf: Array(String(Character(unicode)).utf8))
                    default: return nil
                    }
                default: text.append(byte)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                index += 1
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, written as the value it denotes.
        mutating func number(into out: inout [UInt8]) -> Bool {
            let start = index
            var digits = 0
            var integral = true
            func isDigit(_ at: Int) -> Bool { at < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) }
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { return false }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
                digits += 1
            } else {
                while isDigit(index) { index += 1; digits += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                integral = false
                index += 1
                guard isDigit(index) else { return false }
                while isDigit(index) { index += 1; digits += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                integral = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard isDigit(index) else { return false }
                while isDigit(index) { index += 1 }
            }
            let text = UnsafeBufferPointer(rebasing: bytes[start..<index])
            // An integer is its digits; a fraction or exponent of up to 15 digits (a double
            // holds them exactly) is the double it denotes, whole ones written as integers.
            // A double that underflowed (or is subnormal) no longer holds the digits: such a
            // number stays its text, as does "-0", so no two values meet in one form.
            if !integral, digits <= 15, let double = Double(String(decoding: text, as: UTF8.self)), double.isNormal {
                if double == double.rounded(), abs(double) < 9e18 {
                    out.append(contentsOf: Array(String(Int64(double)).utf8))
                } else {
                    out.append(contentsOf: Array("\(double)".utf8))
                }
            } else {
                out.append(contentsOf: text)
            }
            return true
        }

        static func write(string text: [UInt8], into out: inout [UInt8]) {
            out.append(UInt8(ascii: "\""))
            for byte in text {
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                            hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                default: out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
    }
}
