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
            sql += "$\(binds.count)"
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
        var out = ""
        var index = sql.startIndex
        while index < sql.endIndex {
            let character = sql[index]
            if character == "$" {
                let digitsStart = sql.index(after: index)
                var digitsEnd = digitsStart
                while digitsEnd < sql.endIndex, sql[digitsEnd].isASCII, sql[digitsEnd].isNumber { digitsEnd = sql.index(after: digitsEnd) }
                if digitsEnd > digitsStart, let number = Int(sql[digitsStart..<digitsEnd]) {
                    out += "$\(number + offset)"
                    index = digitsEnd
                    continue
                }
            }
            out.append(character)
            index = sql.index(after: index)
        }
        return out
    }
}

extension Connection {
    /// Runs a query whose values are bound where they are interpolated.
    @discardableResult
    public func sql(_ query: PostgresQuery) throws -> QueryResult {
        try self.query(query.sql, query.binds)
    }
}
