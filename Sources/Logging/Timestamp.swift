import Foundation

/// RFC 3339 UTC timestamps with milliseconds (`2026-11-21T16:34:00.123Z`), formatted with
/// `gmtime_r`: formatter objects are costly to create and not documented as thread-safe.
public enum Timestamp {
    public static func rfc3339(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = Int(millis >= 0 ? millis / 1000 : (millis - 999) / 1000)
        return utc(seconds: seconds, fraction: Int(millis - Int64(seconds) * 1000), digits: 3)
    }

    /// `yyyy-mm-ddThh:mm:ss.` + `digits` digits of fraction + `Z`, for whole seconds since
    /// 1970 and a fraction of a second in units of 10^-`digits`.
    public static func utc(seconds: Int, fraction: Int, digits: Int) -> String {
        var limit = 1
        for _ in 0..<digits { limit *= 10 }
        precondition(digits > 0 && fraction >= 0 && fraction < limit, "a fraction of \(digits) digits")
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let year = Int(parts.tm_year) + 1900
        guard (0...9999).contains(year) else {
            return pad(year, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
                + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
                + "." + pad(fraction, digits) + "Z"
        }
        // Written digit by digit: `String(format:)` goes through CoreFoundation, and padded
        // pieces joined by `+` were a visible part of every access line.
        var out = Array("0000-00-00T00:00:00.".utf8) + [UInt8](repeating: 0, count: digits) + [UInt8(ascii: "Z")]
        func put(_ value: Int, _ width: Int, at offset: Int) {
            var value = value
            for i in stride(from: offset + width - 1, through: offset, by: -1) {
                out[i] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(year, 4, at: 0)
        put(Int(parts.tm_mon) + 1, 2, at: 5)
        put(Int(parts.tm_mday), 2, at: 8)
        put(Int(parts.tm_hour), 2, at: 11)
        put(Int(parts.tm_min), 2, at: 14)
        put(Int(parts.tm_sec), 2, at: 17)
        put(fraction, digits, at: 20)
        return String(decoding: out, as: UTF8.self)
    }

    /// `value` in decimal, zero-padded to `width` digits.
    public static func pad(_ value: Int, _ width: Int) -> String {
        // As `%0*d` writes it: the sign first, then the zeros.
        if value < 0 { return "-" + pad(-value, max(1, width - 1)) }
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
