/// A JSON array of flat objects written straight into bytes, for a statement that reads a batch
/// with `jsonb_to_recordset`. A `JSONEncoder` over the same rows was an eighth of the event
/// worker's instructions per delivery (172M of 1,379M, callgrind over 2,000 deliveries of
/// `ops/bench/events`; about 33M written this way). Names are this program's own
/// identifiers; values are escaped as `CanonicalJSON` escapes them; a nil, or a number that
/// JSON cannot hold (NaN, infinity), is `null`.
public struct JSONRows {
    private var bytes: [UInt8] = [UInt8(ascii: "[")]
    private var rows = 0

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func add(_ write: (inout Row) -> Void) {
        var row = Row()
        swap(&row.bytes, &bytes)
        if rows > 0 { row.bytes.append(UInt8(ascii: ",")) }
        row.bytes.append(UInt8(ascii: "{"))
        write(&row)
        row.bytes.append(UInt8(ascii: "}"))
        swap(&row.bytes, &bytes)
        rows += 1
    }

    /// The finished array.
    public var json: String {
        var out = bytes
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    public struct Row {
        var bytes: [UInt8] = []
        private var fields = 0

        private mutating func name(_ name: StaticString) {
            if fields > 0 { bytes.append(UInt8(ascii: ",")) }
            fields += 1
            bytes.append(UInt8(ascii: "\""))
            name.withUTF8Buffer { bytes.append(contentsOf: $0) }
            bytes.append(UInt8(ascii: "\""))
            bytes.append(UInt8(ascii: ":"))
        }

        private mutating func null() {
            bytes.append(contentsOf: [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")])
        }

        public mutating func add(_ name: StaticString, _ value: String?) {
            self.name(name)
            if let value { CanonicalJSON.append(quoted: value, to: &bytes) } else { null() }
        }

        public mutating func add(_ name: StaticString, _ value: Int?) {
            add(name, value.map(Int64.init))
        }

        public mutating func add(_ name: StaticString, _ value: Int64?) {
            self.name(name)
            if let value { bytes.append(contentsOf: String(value).utf8) } else { null() }
        }

        /// Swift's shortest text that reads back as the same double (microseconds of a time
        /// since 1970 survive).
        public mutating func add(_ name: StaticString, _ value: Double?) {
            self.name(name)
            if let value, value.isFinite { bytes.append(contentsOf: value.description.utf8) } else { null() }
        }

        public mutating func add(_ name: StaticString, _ value: Bool?) {
            self.name(name)
            switch value {
            case true?: bytes.append(contentsOf: [UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "u"), UInt8(ascii: "e")])
            case false?: bytes.append(contentsOf: [UInt8(ascii: "f"), UInt8(ascii: "a"), UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "e")])
            case nil: null()
            }
        }
    }
}
