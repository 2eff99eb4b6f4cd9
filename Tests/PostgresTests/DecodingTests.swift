import Foundation
import Postgres
import TestSupport
import Testing

@Suite struct DecodingTests {
    struct Profile: Codable, Sendable, Equatable {
        var name: String
        var tags: [String]
        var nested: [String: Int]
    }

    @Test func scalarsRoundTripThroughBoundParameters() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        try db.with { connection throws in
            let date = Date(timeIntervalSince1970: 1_763_742_840.123456)
            let bytes = Data([0, 1, 2, 0xfe, 0xff, 0x5c, 0x78])
            let profile = Profile(name: "Clinic \"42\" \\ ü", tags: ["a", "b,c"], nested: ["x": 1])
            let row = try connection.sql("""
                SELECT \("it's; DROP TABLE x; --")::text, \(Int64.min)::bigint, \(Int32(-7))::int, \(true)::bool, \(0.1)::float8, \(date)::timestamptz, \(bytes)::bytea, \(PostgresJSON(profile))::jsonb,
                       \(nil as String?)::text IS NULL, \([Int64(1), 2, 3])::bigint[]
                """)[0]
            #expect(try row.decode(String.self, at: 0) == "it's; DROP TABLE x; --")
            #expect(try row.decode(Int64.self, at: 1) == Int64.min)
            #expect(try row.decode(Int32.self, at: 2) == -7)
            #expect(try row.decode(Bool.self, at: 3) == true)
            #expect(try row.decode(Double.self, at: 4) == 0.1)
            #expect(abs(try row.decode(Date.self, at: 5).timeIntervalSince(date)) < 0.000_001)
            #expect(try row.decode(Data.self, at: 6) == bytes)
            #expect(try row.decode(PostgresJSON<Profile>.self, at: 7).value == profile)
            #expect(try row.decode(Bool.self, at: 8) == true)
            #expect(try row.decode(String.self, at: 9) == "{1,2,3}")
        }
    }

    /// Arrays bound as literals: the server reads back each element as written, quotes,
    /// backslashes, commas, braces and all; bytea elements byte for byte.
    @Test func arraysRoundTripElementByElement() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        try db.with { connection throws in
            let texts = ["plain", "", "say \"hi\"", "back\\slash", "a,b", "{x}", "NULL", " padded ", "ü 😀", "\\\"", "x\\"]
            let read = try connection.sql("SELECT t FROM unnest(\(texts)::text[]) WITH ORDINALITY AS u(t, n) ORDER BY n")
                .rows.map { try $0.decode(String.self, at: 0) }
            #expect(read == texts)
            let blobs = [Data(), Data([0]), Data([0x22, 0x5c, 0x2c]), Data((0...255).map { UInt8($0) })]
            let readBlobs = try connection.sql("SELECT b FROM unnest(\(blobs)::bytea[]) WITH ORDINALITY AS u(b, n) ORDER BY n")
                .rows.map { try $0.decode(Data.self, at: 0) }
            #expect(readBlobs == blobs)
            #expect(try connection.sql("SELECT cardinality(\([String]())::text[])").scalar(Int.self) == 0)
        }
    }

    @Test func nullDecodesOnlyAsOptional() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        try db.with { connection throws in
            let row = try connection.sql("SELECT NULL::text AS missing, 5 AS five")[0]
            #expect(try row.decode(String?.self, "missing") == nil)
            #expect(try row.decode(Int?.self, "five") == 5)
            #expect(throws: PostgresError.self) { try row.decode(String.self, "missing") }
            #expect(throws: PostgresError.self) { try row.decode(Int.self, "nope") }
        }
    }

    /// A bound Date is the instant the server reads, to the microsecond, before and after 1970.
    @Test func boundDatesAreTheServersInstants() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        try db.with { connection throws in
            let cases: [(Double, String)] = [
                (0, "1970-01-01 00:00:00+00"), (-0.25, "1969-12-31 23:59:59.75+00"),
                (951_868_799.999999, "2000-02-29 23:59:59.999999+00"), (1_795_012_440.000001, "2026-11-18 14:34:00.000001+00"),
                (253_402_300_799, "9999-12-31 23:59:59+00"),
            ]
            for (epoch, printed) in cases {
                let text = try connection.sql("SELECT \(Date(timeIntervalSince1970: epoch))::timestamptz::text").scalar(String.self)
                #expect(text == printed, "\(epoch)")
            }
        }
    }

    @Test func timestampsParseEveryOffsetTheServerPrints() throws {
        let db = try TestDatabase(migrated: false, label: "pg")
        defer { db.drop() }
        try db.with { connection throws in
            let cases: [(String, Double)] = [
                ("1970-01-01 00:00:00+00", 0),
                ("2026-11-21 16:34:00.5+00", 1_795_278_840.5),
                ("1969-12-31 23:59:59.999999+00", -0.000_001),
                ("2000-02-29 12:00:00+00", 951_825_600),
            ]
            for (text, epoch) in cases {
                let fromServer = try connection.sql("SELECT \(text)::timestamptz").scalar(Date.self)!
                #expect(abs(fromServer.timeIntervalSince1970 - epoch) < 0.000_002, "\(text)")
                let echoed = try connection.sql("SELECT extract(epoch FROM \(fromServer)::timestamptz)::float8").scalar(Double.self)!
                #expect(abs(echoed - epoch) < 0.000_002, "\(text) via bound Date")
            }
        }
    }
}
