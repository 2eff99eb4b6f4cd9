/// A piece of HTML in which every interpolated `String` is escaped by construction: only
/// literals the program wrote and other `HTML` values go in as markup, so user data cannot
/// be pasted in unescaped by forgetting a call.
///
///     let row: HTML = "<td>\(name)</td>"      // name is escaped
///     let page: HTML = "<tr>\(row)</tr>"      // row is markup already
struct HTML: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    private(set) var rendered: String

    init(stringLiteral value: String) { rendered = value }
    init(stringInterpolation: Interpolation) { rendered = stringInterpolation.out }

    var description: String { rendered }

    struct Interpolation: StringInterpolationProtocol {
        var out = ""
        init(literalCapacity: Int, interpolationCount: Int) { out.reserveCapacity(literalCapacity + 16 * interpolationCount) }
        mutating func appendLiteral(_ literal: String) { out += literal }
        /// Text: escaped.
        mutating func appendInterpolation(_ text: String) { out += HTML.escape(text) }
        mutating func appendInterpolation(_ number: Int) { out += String(number) }
        /// Markup built the same way.
        mutating func appendInterpolation(_ html: HTML) { out += html.rendered }
        mutating func appendInterpolation(_ parts: [HTML]) { for part in parts { out += part.rendered } }
    }

    /// Joins pieces with markup between them.
    static func join(_ parts: [HTML], separator: HTML = "") -> HTML {
        var out = HTML(stringLiteral: "")
        for (index, part) in parts.enumerated() {
            if index > 0 { out.rendered += separator.rendered }
            out.rendered += part.rendered
        }
        return out
    }

    /// A sentence with `{name}` placeholders (a translation): the sentence and each value are
    /// escaped, and the values put in one pass, so neither brings markup and a value that
    /// itself reads `{tenant}` stays as written.
    static func filling(_ template: String, _ values: [String: String]) -> HTML {
        var out = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            out += escape(String(rest[..<open]))
            guard let close = rest[open...].firstIndex(of: "}"), let value = values[String(rest[rest.index(after: open)..<close])] else {
                out += "{"
                rest = rest[rest.index(after: open)...]
                continue
            }
            out += escape(value)
            rest = rest[rest.index(after: close)...]
        }
        out += escape(String(rest))
        return HTML(stringLiteral: out)
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }
}
