import Foundation
import Postgres

/// A WHERE clause of only the filters a request gave, each value bound where it is written. A
/// list query written with `(col = $2 OR $2 IS NULL)` gets one generic plan for every
/// combination, and that plan cannot use the matching index (measured: a 25× slower listing at
/// 100,000 connections); a statement per combination can, and each is still prepared once.
struct SQLFilter {
    private var clauses: PostgresQuery?

    mutating func add(_ clause: PostgresQuery) {
        clauses = clauses.map { "\($0) AND \(clause)" } ?? clause
    }

    /// Adds the filter when the value is there.
    mutating func add<Value: PostgresEncodable>(ifGiven value: Value?, _ clause: (Value) -> PostgresQuery) {
        if let value { add(clause(value)) }
    }

    /// Rows after a page's cursor, newest first: `(createdAt, id) < (cursor)`.
    mutating func after(_ page: Pagination, createdAt: String, id: String) {
        if let after = page.after { add("(\(unescaped: createdAt), \(unescaped: id)) < (\(after.createdAt), \(after.id))") }
    }

    var sql: PostgresQuery { clauses ?? "true" }
}
