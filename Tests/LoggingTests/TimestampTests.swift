import Foundation
import Logging
import Testing

@Suite struct TimestampTests {
    @Test func millisecondsInUTC() {
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 1_795_012_440.1239)) == "2026-11-18T14:34:00.123Z")
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 951_868_799.999)) == "2000-02-29T23:59:59.999Z")
        // Before 1970 the milliseconds still count up from the second before.
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: -0.25)) == "1969-12-31T23:59:59.750Z")
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 253_402_300_799.999)) == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: -62_135_596_800)) == "0001-01-01T00:00:00.000Z")
        // Before year 0 the sign comes first, as `%04d` writes it.
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: -62_198_755_200)) == "-001-01-01T00:00:00.000Z")
        #expect(Timestamp.utc(seconds: 0, fraction: 7, digits: 6) == "1970-01-01T00:00:00.000007Z")
        // Past four digits of year the padding gives way rather than the digits.
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 253_402_300_800)) == "10000-01-01T00:00:00.000Z")
    }
}
