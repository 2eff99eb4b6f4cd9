import Foundation
import Postgres
import TestSupport
import Testing

@Suite struct PostgresQueryTests {
    @Test func interpolatedValuesAreBoundInOrderAndFragmentsRenumbered() throws {
        let queue = "meta", kind: String? = nil, limit = 5
        let inner: PostgresQuery = "SELECT \(queue)::text AS q, \(limit)::int AS n"
        let outer: PostgresQuery = "WITH f AS (\(inner)) SELECT \(unescaped: "q"), n, \(kind)::text, \(42)::int FROM f"
        #expect(outer.sql == "WITH f AS (SELECT $1::text AS q, $2::int AS n) SELECT q, n, $3::text, $4::int FROM f")
        #expect(outer.binds.count == 4)

        let db = try TestDatabase(migrated: false, label: "query")
        defer { db.drop() }
        let row = try db.with { try $0.sql(outer).first }
        #expect(try row?.decode(String.self, at: 0) == "meta" && row?.decode(Int.self, at: 1) == 5)
        #expect(try row?.decode(String?.self, at: 2) == nil && row?.decode(Int.self, at: 3) == 42)
        // A value that looks like SQL is only ever a value.
        let hostile = "'; DROP TABLE x; --"
        #expect(try db.with { try $0.sql("SELECT \(hostile)::text").scalar(String.self) } == hostile)
    }
}
