import Foundation

/// One byte form for every serialisation of the same JSON value (for comparing an
/// Idempotency-Key's retry with its first request, and two deliveries of one Meta change):
/// object keys sorted by their UTF-8 bytes, no insignificant whitespace, strings with their
/// escapes resolved and only `"`, `\` and control characters escaped again, and numbers as
/// the value they denote (`1.0`, `1e0` and `1` are one number; an integer keeps its digits
/// however long, so two large ids never meet in one double).
///
/// Read with `JSONScanner` (strict: a repeated key, nesting past 64 levels or bytes that are
/// not UTF-8 give no form, and the caller compares bytes). Foundation's `JSONSerialization`
/// with `.sortedKeys` sorts by a locale-aware comparison and boxes every value: it was a fifth
/// of the front's CPU time per session request (`perf`, `ops/bench/api`).
public enum CanonicalJSON {
    /// The canonical form, or nil when `body` is not one JSON value `JSONScanner` accepts.
    public static func canonical(_ body: Data) -> Data? {
        JSONDocument(utf8: body).map { canonical($0.root, in: $0.bytes) }
    }

    /// The canonical form of a value already read (`node` of `bytes`), without reading it again.
    public static func canonical(_ node: JSONNode, in bytes: [UInt8]) -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(node.range.count)
        write(node, from: bytes, into: &out)
        return Data(out)
    }

    private static func write(_ node: JSONNode, from bytes: [UInt8], into out: inout [UInt8]) {
        switch node.kind {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let sorted = members.map { (key: Array($0.key.utf8), value: $0.value) }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
            for (position, member) in sorted.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                write(string: member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, from: bytes, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (position, item) in items.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                write(item, from: bytes, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let text):
            append(quoted: text, to: &out)
        case .scalar:
            let text = bytes[node.range]
            if let first = text.first, first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) {
                write(number: text, into: &out)
            } else {
                out.append(contentsOf: text)  // true, false, null
            }
        }
    }

    /// An integer is its digits; a fraction or exponent of up to 15 digits (a double holds
    /// them exactly) is the double it denotes, whole ones written as integers. A number a
    /// double cannot hold apart (it underflowed, or is subnormal) stays its text, so no two
    /// values meet in one form.
    private static func write(number text: ArraySlice<UInt8>, into out: inout [UInt8]) {
        let integral = !text.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
        let significand = text.prefix { $0 != UInt8(ascii: "e") && $0 != UInt8(ascii: "E") }
        let digits = significand.filter { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }.count
        if !integral, digits <= 15, let double = Double(String(decoding: text, as: UTF8.self)), double.isNormal {
            if double == double.rounded(), abs(double) < 9e18 {
                out.append(contentsOf: String(Int64(double)).utf8)
            } else {
                out.append(contentsOf: "\(double)".utf8)
            }
        } else {
            out.append(contentsOf: text)
        }
    }

    /// A canonical form with each U+0000 in its strings (keys too) written as U+FFFD, for a
    /// store that refuses NUL in text: Postgres' `jsonb` rejects `\u0000` (SQLSTATE 22P05;
    /// https://www.postgresql.org/docs/current/datatype-json.html). The canonical form has a
    /// backslash only where an escape starts (`\"`, `\\` or `\u00XX`), and a NUL only as
    /// `\u0000`: stepping over the two bytes at each backslash keeps the reading aligned.
    public static func replacingNUL(_ canonical: Data) -> Data {
        let nul = Array(#"\u0000"#.utf8)
        guard canonical.range(of: Data(nul)) != nil else { return canonical }
        let bytes = [UInt8](canonical)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "\\") else {
                out.append(bytes[index])
                index += 1
                continue
            }
            if bytes[index...].starts(with: nul) {
                out.append(contentsOf: "\u{FFFD}".utf8)
                index += nul.count
            } else {
                // Any other escape: its first two bytes (an escaped backslash is not a start).
                out.append(contentsOf: bytes[index..<min(index + 2, bytes.count)])
                index += 2
            }
        }
        return Data(out)
    }

    /// `text` as a JSON string, escaped as `canonical` escapes strings.
    public static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        append(quoted: text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `text` as a JSON string to `out`; a string with nothing to escape (the usual
    /// case) is copied in one piece.
    public static func append(quoted text: String, to out: inout [UInt8]) {
        let copied: Bool? = text.utf8.withContiguousStorageIfAvailable { bytes in
            guard !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: bytes)
            out.append(UInt8(ascii: "\""))
            return true
        }
        if copied != true { write(string: Array(text.utf8), into: &out) }
    }

    /// Bytes with nothing to escape (most keys and values) are copied in one piece; a byte at
    /// a time was a fifth of an Idempotency hash (callgrind over `serve`, `ops/bench/api`).
    private static func write(string text: [UInt8], into out: inout [UInt8]) {
        if !text.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: text)
            out.append(UInt8(ascii: "\""))
            return
        }
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), byte])
            case 0..<0x20: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                                   hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
