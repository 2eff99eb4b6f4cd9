import Foundation
import Synchronization

/// Amounts as exact decimals, written with two places. Rounding is half-up (away from zero
/// at .5) to the cent, done once, on the final figure of each line.
enum Money {
    /// A non-negative amount with at most two decimals ("99", "4.5", "4.50").
    static func parse(_ text: String) -> Decimal? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].allSatisfy(\.isNumber), parts[0].count <= 10,
              parts.count == 1 || ((1...2).contains(parts[1].count) && parts[1].allSatisfy(\.isNumber)) else { return nil }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }

    static func round(_ value: Decimal) -> Decimal {
        var input = value
        var output = Decimal()
        NSDecimalRound(&output, &input, 2, .plain)
        return output
    }

    /// `1234.5` → `"1234.50"`.
    static func text(_ value: Decimal) -> String {
        let rounded = round(value)
        return formatter.withLock { $0.string(from: rounded as NSDecimalNumber) } ?? "\(rounded)"
    }

    /// One formatter for every figure of a report (tens of thousands of them); NumberFormatter
    /// is not safe across threads, hence the lock.
    private static let formatter = Mutex<NumberFormatter>({
        let formatter = NumberFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.numberStyle = .decimal
        formatter.usesGroupingSeparator = false
        formatter.minimumFractionDigits = 2
        formatter.maximumFractionDigits = 2
        return formatter
    }())
}
