import Postgres
import TestSupport
import Testing
@testable import Dualhook

/// `PostgresTextArray` reads text[] as the server prints it: quoting, escapes and non-ASCII text.
@Suite struct PostgresTextArrayTests {
    @Test func readsBackWhatPostgresPrints() throws {
        let values = ["plain", "a,b", "q\"uote", "back\\slash", " padded ", "", "café ✓ 日本", "{braces}", "whsec_YWFhYQ==",
                      // A combining mark after a quote or a comma (a parse by Characters merged them).
                      "\u{301}x", "\u{301} y", "a\"\u{301}"]
        let db = try TestDatabase(label: "api")
        defer { db.drop() }
        let printed = try #require(try db.with { c in try c.sql("SELECT \(values)::text[]::text").scalar(String.self) })
        #expect(PostgresTextArray.parse(printed) == values)
        #expect(PostgresTextArray.parse("{}") == [])
        #expect(PostgresTextArray.parse("{\"\"}") == [""])
        #expect(PostgresTextArray.parse("{one}") == ["one"])
    }
}
