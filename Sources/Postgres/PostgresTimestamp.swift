import Foundation
import Logging

/// `timestamptz` ⇄ `Date`. Every connection sets `TimeZone=UTC` and `DateStyle=ISO`, so the
/// server prints `2026-11-21 16:34:00.123456+00`; parsing that by hand avoids a formatter per call.
enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let seconds = Int(micros.floorDiv(1_000_000))
        return Timestamp.utc(seconds: seconds, fraction: Int(micros - Int64(seconds) * 1_000_000), digits: 6)
    }

    static func parse(_ text: UnsafeBufferPointer<UInt8>) throws -> Date {
        var i = 0
        func number(_ width: Int) throws -> Int {
            guard i + width <= text.count else { throw PostgresError(.decoding, "short timestamp") }
            var value = 0
            for _ in 0..<width {
                let d = Int(text[i]) - 48
                guard d >= 0 && d <= 9 else { throw PostgresError(.decoding, "bad timestamp") }
                value = value * 10 + d
                i += 1
            }
            return value
        }
        func skip(_ c: Character) throws {
            guard i < text.count, text[i] == c.asciiValue! else { throw PostgresError(.decoding, "bad timestamp") }
            i += 1
        }
        let year = try number(4); try skip("-")
        let month = try number(2); try skip("-")
        let day = try number(2)
        guard i < text.count, text[i] == 32 || text[i] == UInt8(ascii: "T") else { throw PostgresError(.decoding, "bad timestamp") }
        i += 1
        let hour = try number(2); try skip(":")
        let minute = try number(2); try skip(":")
        let second = try number(2)
        var micros = 0
        if i < text.count, text[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < text.count, text[i] >= 48, text[i] <= 57 {
                if digits < 6 { micros = micros * 10 + Int(text[i]) - 48; digits += 1 }
                i += 1
            }
            while digits < 6 { micros *= 10; digits += 1 }
        }
        var offsetSeconds = 0
        if i < text.count {
            let sign = text[i]
            if sign == UInt8(ascii: "Z") {
                i += 1
            } else if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                i += 1
                let oh = try number(2)
                var om = 0, os = 0
                if i < text.count, text[i] == UInt8(ascii: ":") { i += 1; om = try number(2) }
                if i < text.count, text[i] == UInt8(ascii: ":") { i += 1; os = try number(2) }
                offsetSeconds = (oh * 3600 + om * 60 + os) * (sign == UInt8(ascii: "-") ? -1 : 1)
            }
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let epoch = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(epoch) + Double(micros) / 1_000_000)
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

extension Int64 {
    fileprivate func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}
