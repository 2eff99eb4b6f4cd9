import Foundation
import Logging

/// One logfmt line per request on standard error: method, route pattern, status, duration,
/// request id and account id. Never a header value, a query string or a body. Written whatever
/// the log level, as access logs are.
enum AccessLog {
    private static let logger = Logger(label: "access", minimumLevel: .debug)

    /// One logfmt line per request, like every other line the processes write.
    static func write(method: String, route: String, status: Int, seconds: Double, requestID: String, accountID: String?) {
        logger.log(.info, "request", strings: [("method", method), ("route", route), ("status", String(status)),
                                               ("duration_ms", milliseconds(seconds)), ("request_id", requestID),
                                               ("account_id", accountID ?? "-")])
    }

    /// Milliseconds with two decimals, without `String(format:)` (CoreFoundation, on every request).
    static func milliseconds(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "0.00" }
        let hundredths = max(0, Int((min(seconds, 1e9) * 100_000).rounded()))
        return String(hundredths / 100) + "." + Timestamp.pad(hundredths % 100, 2)
    }
}
