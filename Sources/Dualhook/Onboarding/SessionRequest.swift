import Foundation

/// A validated `POST /api/v1/onboarding/sessions` body: every rule of API.md, each failure
/// naming its field.
struct SessionRequest {
    let tenantId: String
    let tenantName: String?
    let successRedirectUrl: String
    let failureRedirectUrl: String
    let cancelRedirectUrl: String
    let webhookOverrideUrl: String
    let webhookVerifyToken: String
    let metadataJSON: String
    let coexistence: Bool
    let expiresInSeconds: Int
    let webhookScope: WebhookScope
    /// A BCP 47 tag; nil leaves the page's language to the browser.
    let locale: String?

    static let fields: Set<String> = [
        "tenantId", "tenantName", "successRedirectUrl", "failureRedirectUrl", "cancelRedirectUrl",
        "webhookOverrideUrl", "webhookVerifyToken", "metadata", "coexistence", "expiresInSeconds", "webhookScope", "locale",
    ]

    /// A name a person reads and an id a SaaS looks up by: blank (only spaces) or holding control
    /// characters is refused, rather than making a tenant no list shows legibly.
    static func visible(_ text: String, param: String) throws -> String {
        // U+FEFF (a byte-order mark) shows nothing either, and JSON Schema's `\s` counts it.
        guard text.unicodeScalars.contains(where: { !$0.properties.isWhitespace && $0 != "\u{FEFF}" }) else {
            throw APIError.validationFailed(param: param, "\(param) must not be blank")
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIError.validationFailed(param: param, "\(param) must not contain control characters")
        }
        return text
    }

    init(body: JSONObject, redirectOrigins: [String], allowPrivateTargets: Bool) throws {
        try body.rejectUnknown(allowed: SessionRequest.fields)
        tenantId = try SessionRequest.visible(body.string("tenantId", required: true, length: 1...128)!, param: "tenantId")
        tenantName = try body.string("tenantName", length: 1...200).map { try SessionRequest.visible($0, param: "tenantName") }
        func redirect(_ name: String) throws -> String {
            let text = try body.string(name, required: true)!
            let url = try URLRules.absolute(text, param: name)
            if !redirectOrigins.isEmpty && !redirectOrigins.contains(URLRules.origin(of: url)) {
                throw APIError.validationFailed(param: name, "\(name) must be within the account's redirect origins")
            }
            return text
        }
        successRedirectUrl = try redirect("successRedirectUrl")
        failureRedirectUrl = try redirect("failureRedirectUrl")
        cancelRedirectUrl = try redirect("cancelRedirectUrl")
        let override = try body.string("webhookOverrideUrl", required: true)!
        _ = try URLRules.outbound(override, param: "webhookOverrideUrl", maxLength: 200, allowPrivate: allowPrivateTargets)
        webhookOverrideUrl = override
        let token = try body.string("webhookVerifyToken", required: true, length: 1...128)!
        guard token.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7e }) else {
            throw APIError.validationFailed(param: "webhookVerifyToken", "webhookVerifyToken must be printable ASCII without spaces")
        }
        webhookVerifyToken = token
        metadataJSON = try body.object("metadata", maxBytes: 4096) ?? "{}"
        coexistence = try body.bool("coexistence") ?? false
        expiresInSeconds = try body.integer("expiresInSeconds", range: 300...86_400) ?? 3600
        let scope = try body.string("webhookScope") ?? WebhookScope.waba.rawValue
        guard let parsedScope = WebhookScope(rawValue: scope) else {
            throw APIError.validationFailed(param: "webhookScope", "webhookScope must be waba or phone_number")
        }
        webhookScope = parsedScope
        locale = try body.string("locale", length: 2...35)
        if let locale, !PageLanguage.isLanguageTag(locale) {
            throw APIError.validationFailed(param: "locale", "locale must be a BCP 47 language tag such as pt-BR")
        }
    }
}
