import Foundation

/// SQL with its values bound where they are written: every interpolated value becomes the next
/// `$n` and joins the parameters, so no code numbers parameters by hand (postgres-nio's
/// `PostgresQuery` is the model). SQL the caller writes itself (a column list, a nested
/// fragment) goes in as `unescaped:` or as another query, whose parameters are renumbered.
///
///     try connection.sql("SELECT id FROM jobs WHERE queue = \(queue) AND kind = \(kind)")
///
/// The method is `sql`, not an overload of `query(_: String)`: a string literal with
/// interpolations given to `query` would be read as a plain `String`, values pasted in.
public struct PostgresQuery: Sendable, ExpressibleByStringInterpolation {
    public private(set) var sql: String
    public private(set) var binds: [(any PostgresEncodable)?]

    public init(stringLiteral value: String) {
        sql = value
        binds = []
    }

    public init(stringInterpolation: StringInterpolation) {
        sql = stringInterpolation.sql
        binds = stringInterpolation.binds
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var binds: [(any PostgresEncodable)?] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + 4 * interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) { sql += literal }

        /// A value, bound as the next parameter (nil binds SQL NULL).
        public mutating func appendInterpolation(_ value: (any PostgresEncodable)?) {
            binds.append(value)
            sql += "$"
            sql += String(binds.count)
        }

        /// SQL the program wrote (never input): inserted as it is.
        public mutating func appendInterpolation(unescaped text: String) { sql += text }

        /// A fragment built the same way: its SQL inserted, its parameters appended and renumbered.
        public mutating func appendInterpolation(_ query: PostgresQuery) {
            sql += PostgresQuery.renumber(query.sql, by: binds.count)
            binds += query.binds
        }
    }

    /// `$n` → `$(n + offset)`. Fragments are this program's SQL, which puts no `$` in literals.
    static func renumber(_ sql: String, by offset: Int) -> String {
        guard offset > 0 else { return sql }
        // Over UTF-8 bytes: iterating `Character`s made this a visible part of every request
        // that nests a fragment.
        let bytes = Array(sql.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "$") {
                var end = index + 1
                var number = 0
                while end < bytes.count, end - index <= 9, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[end]) {
                    number = number * 10 + Int(bytes[end] - UInt8(ascii: "0"))
                    end += 1
                }
                if end > index + 1 {
                    out.append(UInt8(ascii: "$"))
                    out.append(contentsOf: String(number + offset).utf8)
                    index = end
                    continue
                }
            }
            out.append(bytes[index])
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Connection {
    /// Runs a query whose values are bound where they are interpolated.
    @discardableResult
    public func sql(_ query: PostgresQuery) throws -> QueryResult {
        try self.query(query.sql, query.binds)
    }
}
