import CPostgres
import Foundation

/// The rows of one statement. Owns its `PGresult` and frees it when released.
///
/// `@unchecked Sendable`: a `PGresult` is immutable once returned by libpq and reading it takes
/// no connection, so sharing it across threads is safe.
public final class QueryResult: @unchecked Sendable {
    let handle: OpaquePointer?
    public let rowCount: Int
    public let columnCount: Int
    /// Rows touched by an INSERT/UPDATE/DELETE without RETURNING.
    public let affectedRows: Int

    init(_ handle: OpaquePointer?) {
        self.handle = handle
        self.rowCount = handle.map { Int(PQntuples($0)) } ?? 0
        self.columnCount = handle.map { Int(PQnfields($0)) } ?? 0
        if let handle, let text = PQcmdTuples(handle), text.pointee != 0 {
            affectedRows = Int(String(cString: text)) ?? 0
        } else {
            affectedRows = 0
        }
    }

    deinit { if let handle { PQclear(handle) } }

    public var isEmpty: Bool { rowCount == 0 }

    public func columnName(_ column: Int) -> String {
        guard let handle, let name = PQfname(handle, Int32(column)) else { return "" }
        return String(cString: name)
    }

    public func columnIndex(_ name: String) -> Int? {
        guard let handle else { return nil }
        let index = Int(PQfnumber(handle, name))
        return index >= 0 ? index : nil
    }

    public subscript(row: Int) -> Row { Row(result: self, index: row) }

    public var rows: [Row] { (0..<rowCount).map { Row(result: self, index: $0) } }

    public var first: Row? { rowCount > 0 ? Row(result: self, index: 0) : nil }

    func decode<T: PostgresDecodable>(_ type: T.Type, row: Int, column: Int) throws -> T {
        guard let handle, row < rowCount, column < columnCount else {
            throw PostgresError(.decoding, "no column \(column) in row \(row)")
        }
        if PQgetisnull(handle, Int32(row), Int32(column)) != 0 { return try T.decodeNull() }
        let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
        let pointer = PQgetvalue(handle, Int32(row), Int32(column))!
        return try pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            do {
                return try T.decode(postgresText: UnsafeBufferPointer(start: $0, count: length))
            } catch let error as PostgresError {
                throw PostgresError(.decoding, "column \(columnName(column)): \(error.message)")
            }
        }
    }

    /// The first column of the first row, or nil when there are no rows.
    public func scalar<T: PostgresDecodable>(_ type: T.Type = T.self) throws -> T? {
        guard rowCount > 0 else { return nil }
        return try decode(T.self, row: 0, column: 0)
    }
}

/// One row of a `QueryResult`; columns are read by position or by name.
public struct Row: Sendable {
    public let result: QueryResult
    public let index: Int

    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at column: Int) throws -> T {
        try result.decode(T.self, row: index, column: column)
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, _ name: String) throws -> T {
        guard let column = result.columnIndex(name) else {
            throw PostgresError(.decoding, "no column named \(name)")
        }
        return try result.decode(T.self, row: index, column: column)
    }

    public func isNull(_ column: Int) -> Bool {
        guard let handle = result.handle else { return true }
        return PQgetisnull(handle, Int32(index), Int32(column)) != 0
    }
}
