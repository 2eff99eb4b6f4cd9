import Foundation

/// The account as the onboarding pages show it: name, logo, brand colour, and whom to ask.
struct PageBranding: Sendable {
    let displayName: String
    let logoURL: String?
    /// `#rrggbb`, checked when stored.
    let brandColor: String?
    let supportEmail: String?
    let supportURL: String?
    let privacyPolicyURL: String?

    /// The button when the account has no colour of its own: white on it is 5.75:1.
    static let defaultColor = "#1565c0"

    /// The button's colours: the brand colour, and whichever of white or near-black text
    /// contrasts more with it (WCAG 2.1 relative luminance). One of the two always reaches the
    /// AA minimum of 4.5:1 for normal text.
    var buttonColors: (background: String, text: String) {
        let background = brandColor ?? PageBranding.defaultColor
        let white = PageBranding.contrast(background, "#ffffff")
        let dark = PageBranding.contrast(background, "#111111")
        return (background, white >= dark ? "#ffffff" : "#111111")
    }

    static func luminance(_ hex: String) -> Double {
        let digits = Array(hex.dropFirst())
        func channel(_ i: Int) -> Double {
            let value = Double(Int(String(digits[i * 2...i * 2 + 1]), radix: 16) ?? 0) / 255
            return value <= 0.03928 ? value / 12.92 : pow((value + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2)
    }

    static func contrast(_ a: String, _ b: String) -> Double {
        let (x, y) = (luminance(a), luminance(b))
        return (max(x, y) + 0.05) / (min(x, y) + 0.05)
    }

    /// CSS for the button, from values checked to be `#rrggbb`: nothing else reaches the style.
    var buttonCSS: String {
        let (background, text) = buttonColors
        // The focus ring sits on the white card beside the button: the brand colour only when it
        // keeps 3:1 against white (WCAG's non-text contrast), else near-black; a light brand
        // colour (#ffee00) made it all but invisible.
        let ring = text == "#ffffff" || PageBranding.contrast(background, "#ffffff") < 3 ? "#111111" : background
        return "button{background:\(background);color:\(text)}button:focus-visible{outline-color:\(ring)}"
    }

    /// The contact line: whom to ask and the privacy policy, or nil when the account gave none.
    func contact(help: String, privacyPolicy: String) -> HTML? {
        var links: [HTML] = []
        if let email = supportEmail { links.append("<a href=\"mailto:\(email)\">\(email)</a>") }
        if let url = supportURL { links.append("<a href=\"\(url)\" rel=\"noopener noreferrer\">\(url)</a>") }
        var parts: [HTML] = []
        if !links.isEmpty { parts.append("\(HTML.filling(help, ["brand": displayName])) \(HTML.join(links, separator: " · "))") }
        if let policy = privacyPolicyURL {
            parts.append("<a href=\"\(policy)\" rel=\"noopener noreferrer\">\(HTML.filling(privacyPolicy, ["brand": displayName]))</a>")
        }
        return parts.isEmpty ? nil : HTML.join(parts, separator: "<br>")
    }
}
