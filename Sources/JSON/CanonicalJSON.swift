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
        var copied = 0
        for start in escapeStarts(bytes) where bytes[start...].starts(with: nul) {
            out.append(contentsOf: bytes[copied..<start])
            out.append(contentsOf: "\u{FFFD}".utf8)
            copied = start + nul.count
        }
        out.append(contentsOf: bytes[copied...])
        return Data(out)
    }

    /// A canonical form's size with `\b`, `\t`, `\n`, `\f` and `\r` counted as the two bytes
    /// other writers (Foundation's) give them, not the six of the `\u00XX` written here.
    public static func sizeWithShortEscapes(_ canonical: Data) -> Int {
        let bytes = [UInt8](canonical)
        let short: Set<[UInt8]> = Set(["0008", "0009", "000a", "000c", "000d"].map { Array($0.utf8) })
        let shortened = escapeStarts(bytes).filter {
            $0 + 5 < bytes.count && bytes[$0 + 1] == UInt8(ascii: "u") && short.contains(Array(bytes[($0 + 2)...($0 + 5)]))
        }
        return bytes.count - 4 * shortened.count
    }

    /// Where each escape of a canonical form starts. The form has a backslash only there
    /// (`\"`, `\\` or `\u00XX`), so stepping over the two bytes at each backslash keeps the
    /// reading aligned: an escaped backslash is not a start.
    private static func escapeStarts(_ bytes: [UInt8]) -> [Int] {
        var starts: [Int] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") {
                starts.append(index)
                index += 2
            } else {
                index += 1
            }
        }
        return starts
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
    /// a time was a quarter of an Idempotency hash (callgrind over `serve`, `ops/bench/api`).
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
