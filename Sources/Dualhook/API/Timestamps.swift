import Foundation

/// RFC 3339 timestamps given in query parameters.
enum Timestamps {
    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// The `since` filter of a list: absent, or an RFC 3339 timestamp.
    static func since(_ query: [String: String]) throws -> Date? { try time(query, "since") }

    /// A time filter of a list (`since`, `until`): absent, or an RFC 3339 timestamp.
    static func time(_ query: [String: String], _ name: String) throws -> Date? {
        guard let text = query[name] else { return nil }
        guard let date = parse(text) else {
            throw APIError.validationFailed(param: name, "\(name) must be an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z")
        }
        return date
    }

    /// `2026-12-01 21:14 UTC`, for pages.
    static func short(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }
}
