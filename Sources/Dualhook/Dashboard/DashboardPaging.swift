import Foundation
import HTTPServer
import Postgres

/// Pages of the dashboard's long lists (sessions, events, connections), newest first: `?cursor=`
/// is the API's opaque cursor (`Pagination`) naming the last row of the page before, so a page
/// is found by the list's `(account_id, created_at DESC, id DESC)` index however deep it is, and
/// rows written meanwhile do not shift it. A cursor that does not decode (a link edited by hand)
/// shows the newest page, with a word saying so.
struct DashboardPaging {
    static let size = 50
    let after: (createdAt: Date, id: String)?
    let refusedCursor: Bool

    init(query: [String: String]) {
        let given = query["cursor"].flatMap { $0.isEmpty ? nil : $0 }
        after = given.flatMap(Pagination.decode)
        refusedCursor = given != nil && after == nil
    }

    /// `(createdAt, id) < (cursor)` when a cursor was given.
    func restrict(_ filter: inout SQLFilter, createdAt: String, id: String) {
        if let after { filter.add("(\(unescaped: createdAt), \(unescaped: id)) < (\(after.createdAt), \(after.id))") }
    }

    /// Rows to read: one more than a page shows tells whether there is an older page.
    var limit: Int { Self.size + 1 }

    /// The page's rows (at most `size`) and the cursor of the next older page when there is one.
    func cut<Row>(_ rows: [Row], key: (Row) throws -> (Date, String)) rethrows -> (rows: [Row], older: String?) {
        guard rows.count > Self.size else { return (rows, nil) }
        let shown = Array(rows.prefix(Self.size))
        let (createdAt, id) = try key(shown[shown.count - 1])
        return (shown, Pagination.cursor(createdAt: createdAt, id: id))
    }

    /// "Newest" (when not on the first page) and "Older" (when there are more), keeping the
    /// list's filters (`kept`; nil values left out).
    func links(path: String, kept: [(String, String?)], older: String?) -> HTML {
        let filters = kept.compactMap { name, value in value.map { "\(name)=\(OnboardingSession.queryEscaped($0))" } }
        func href(_ cursor: String?) -> String {
            let pairs = filters + (cursor.map { ["cursor=\($0)"] } ?? [])
            return path + (pairs.isEmpty ? "" : "?" + pairs.joined(separator: "&"))
        }
        var parts: [HTML] = []
        if refusedCursor { parts.append("<span class=\"muted\">That page link is not one of ours: the newest are shown.</span>") }
        if after != nil { parts.append("<a href=\"\(href(nil))\" id=\"newest-page\">Newest</a>") }
        if let older { parts.append("<a href=\"\(href(older))\" id=\"older-page\" rel=\"next\">Older</a>") }
        return parts.isEmpty ? "" : "<p class=\"pager\">\(HTML.join(parts, separator: " · "))</p>"
    }
}
