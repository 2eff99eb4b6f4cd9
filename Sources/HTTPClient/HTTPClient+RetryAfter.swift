import Foundation

extension HTTPClient.Response {
    /// `Retry-After` in seconds from now (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), nil
    /// when absent or unreadable.
    public var retryAfter: TimeInterval? { header("Retry-After").flatMap(HTTPClient.Response.retryAfter) }

    /// A `Retry-After` value in seconds from now.
    public static func retryAfter(_ value: String) -> TimeInterval? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(text) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text).map { max(0, $0.timeIntervalSinceNow) }
    }
}
