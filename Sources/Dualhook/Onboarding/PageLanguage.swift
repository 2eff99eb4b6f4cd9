import Foundation

/// The onboarding page's languages. The session's `locale`, else the browser's
/// `Accept-Language`, picks one; English when neither names a language the page speaks. Meta's
/// SDK is loaded in the matching Facebook locale (`connect.facebook.net/{ll_CC}/sdk.js`,
/// https://developers.facebook.com/docs/javascript/internationalization; Spanish is `es_LA`).
/// Meta's own window follows the person's Facebook language whatever the SDK's is.
enum PageLanguage: String, CaseIterable, Sendable {
    case english = "en"
    case portugueseBrazil = "pt-BR"
    case spanish = "es"
    case indonesian = "id"
    case hindi = "hi"
    case german = "de"
    case french = "fr"
    case italian = "it"

    /// For `<html lang>`.
    var tag: String { rawValue }

    var facebookLocale: String {
        switch self {
        case .english: "en_US"
        case .portugueseBrazil: "pt_BR"
        case .spanish: "es_LA"
        case .indonesian: "id_ID"
        case .hindi: "hi_IN"
        case .german: "de_DE"
        case .french: "fr_FR"
        case .italian: "it_IT"
        }
    }

    /// A well-formed BCP 47 tag as far as this page cares: a 2–3 letter language, then
    /// subtags of 1–8 letters or digits.
    static func isLanguageTag(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let language = parts.first, (2...3).contains(language.count), language.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            return false
        }
        return parts.dropFirst().allSatisfy { (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
    }

    /// The page's language for one tag: an exact match, else the language alone (any
    /// Portuguese reads the Brazilian page), else nil.
    static func match(_ tag: String) -> PageLanguage? {
        let lower = tag.lowercased()
        if let exact = allCases.first(where: { $0.rawValue.lowercased() == lower }) { return exact }
        let language = lower.split(separator: "-").first.map(String.init) ?? lower
        return allCases.first { $0.rawValue.lowercased().split(separator: "-").first.map(String.init) == language }
    }

    /// The session's locale when the page speaks it, else the browser's preferences in their
    /// `q` order, else English.
    static func choose(requested: String?, acceptLanguage: String?) -> PageLanguage {
        if let requested, let language = match(requested) { return language }
        let preferences = (acceptLanguage ?? "").split(separator: ",").enumerated().compactMap { index, item -> (String, Double, Int)? in
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = parts.first, !tag.isEmpty, tag != "*" else { return nil }
            let q = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return (tag, q, index)
        }
        for (tag, q, _) in preferences.sorted(by: { $0.1 != $1.1 ? $0.1 > $1.1 : $0.2 < $1.2 }) where q > 0 {
            if let language = match(tag) { return language }
        }
        return .english
    }

    /// `META_SDK_URL` in this language: its `en_US` path segment replaced, when it has one.
    func sdkURL(_ configured: String) -> String {
        configured.replacingOccurrences(of: "/en_US/", with: "/\(facebookLocale)/")
    }
}
