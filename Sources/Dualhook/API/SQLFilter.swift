import Foundation
import Postgres

/// A WHERE clause of only the filters a request gave, each value bound as a parameter. A list
/// query written with `($2 IS NULL OR col = $2)` gets one generic plan for every combination,
/// and that plan cannot use the matching index (measured: a 25× slower listing at 100,000
/// connections); a statement per combination can, and each is still prepared once.
struct SQLFilter {
    private var clauses: [String] = []
    private(set) var parameters: [(any PostgresEncodable)?] = []

    /// `clause` uses `?` for each value, in order.
    mutating func add(_ clause: String, _ values: (any PostgresEncodable)?...) {
        var text = ""
        var index = 0
        for ch in clause {
            if ch == "?" {
                parameters.append(values[index])
                index += 1
                text += "$\(parameters.count)"
            } else {
                text.append(ch)
            }
        }
        clauses.append(text)
    }

    /// Adds the filter when the value is there.
    mutating func add(_ clause: String, ifGiven value: (any PostgresEncodable)?) {
        if let value { add(clause, value) }
    }

    /// Rows after a page's cursor, newest first: `(createdAt, id) < (cursor)`.
    mutating func after(_ page: Pagination, createdAt: String, id: String) {
        if let after = page.after { add("(\(createdAt), \(id)) < (?, ?)", after.createdAt, after.id) }
    }

    /// A parameter for a value used outside the WHERE clause (a LIMIT).
    mutating func bind(_ value: any PostgresEncodable) -> String {
        parameters.append(value)
        return "$\(parameters.count)"
    }

    var sql: String { clauses.isEmpty ? "true" : clauses.joined(separator: " AND ") }
}
