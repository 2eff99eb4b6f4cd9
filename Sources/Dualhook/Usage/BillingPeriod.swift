import Foundation

/// A calendar month in UTC, `YYYY-MM`.
struct BillingPeriod: Sendable, Equatable {
    let year: Int
    let month: Int

    static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }

    init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 7, parts.count == 2, parts[0].count == 4, parts[1].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), (2000...9999).contains(year), (1...12).contains(month) else { return nil }
        self.year = year
        self.month = month
    }

    init(containing date: Date) {
        let parts = BillingPeriod.calendar.dateComponents([.year, .month], from: date)
        year = parts.year!
        month = parts.month!
    }

    var start: Date { BillingPeriod.calendar.date(from: DateComponents(year: year, month: month, day: 1))! }
    var end: Date { BillingPeriod.calendar.date(byAdding: .month, value: 1, to: start)! }
    var days: Int { BillingPeriod.calendar.range(of: .day, in: .month, for: start)!.count }
    var text: String { String(format: "%04d-%02d", year, month) }
}
