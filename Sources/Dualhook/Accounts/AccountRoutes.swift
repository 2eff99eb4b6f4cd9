import Foundation
import HTTPServer
import Postgres

/// `GET/PATCH /api/v1/account`, `POST /api/v1/account/signing-secret/rotate`.
enum AccountRoutes {
    static func register(_ router: inout Router<RouteEntry>) {
        router.add("GET", "/api/v1/account", RouteEntry(.api, get))
        router.add("PATCH", "/api/v1/account", RouteEntry(.api, patch))
        router.add("POST", "/api/v1/account/signing-secret/rotate", RouteEntry(.api, rotate))
    }

    static func get(_ context: APIContext) throws -> Response {
        guard let account = try AccountStore.find(context.account.accountID, on: context.connection) else {
            throw APIError.notFound("account")
        }
        return .json(200, account)
    }

    static func patch(_ context: APIContext) throws -> Response {
        let body = try JSONObject(body: context.request.body)
        try body.rejectUnknown(allowed: ["displayName", "logoUrl", "eventUrl", "redirectOrigins", "brandColor", "supportEmail",
                                         "supportUrl", "privacyPolicyUrl"])
        let allowPrivate = context.configuration.allowPrivateTargets
        let connection = context.connection
        let id = context.account.accountID
        if let name = try body.string("displayName", length: 1...100) {
            try connection.sql("UPDATE accounts SET display_name = \(name), updated_at = now() WHERE id = \(id)")
        }
        // `null` clears an optional field (it was ignored for these two).
        if body.sent("logoUrl") {
            let logo = try body.string("logoUrl")
            if let logo { _ = try URLRules.outbound(logo, param: "logoUrl", maxLength: 2048, allowPrivate: allowPrivate) }
            try connection.sql("UPDATE accounts SET logo_url = \(logo), updated_at = now() WHERE id = \(id)")
        }
        if body.sent("eventUrl") {
            let url = try body.string("eventUrl")
            if let url { _ = try URLRules.outbound(url, param: "eventUrl", maxLength: 2048, allowPrivate: allowPrivate) }
            try EventEndpointStore.setDefault(accountID: id, url: url, on: connection)
        }
        if let origins = try body.stringArray("redirectOrigins", maxCount: 20) {
            let normalized = try origins.map { text -> String in
                let url = try URLRules.absolute(text, param: "redirectOrigins")
                guard url.path.isEmpty || url.path == "/", url.query == nil else {
                    throw APIError.validationFailed(param: "redirectOrigins", "each origin is scheme://host[:port] only")
                }
                return URLRules.origin(of: url)
            }
            try connection.sql("UPDATE accounts SET redirect_origins = \(normalized)::text[], updated_at = now() WHERE id = \(id)")
        }
        try patchBranding(body, context: context)
        return try get(context)
    }

    /// The page's brand colour and the contacts it shows; `null` clears one.
    static func patchBranding(_ body: JSONObject, context: APIContext) throws {
        let id = context.account.accountID
        func set(_ column: String, _ value: String?) throws {
            try context.connection.sql("UPDATE accounts SET \(unescaped: column) = \(value), updated_at = now() WHERE id = \(id)")
        }
        if body.sent("brandColor") {
            // Any length is read, so a name ("red") gets the format's message, not a length's.
            let color = try body.string("brandColor", length: 0...64)
            if let color, color.count != 7 || color.first != "#" || !color.dropFirst().allSatisfy(\.isHexDigit) {
                throw APIError.validationFailed(param: "brandColor", "brandColor must be a colour as #rrggbb, e.g. #0a7cff")
            }
            try set("brand_color", color?.lowercased())
        }
        if body.sent("supportEmail") {
            let email = try body.string("supportEmail", length: 3...254)
            if let email {
                let parts = email.split(separator: "@", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !email.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" }) else {
                    throw APIError.validationFailed(param: "supportEmail", "supportEmail must be an email address, e.g. help@example.com")
                }
            }
            try set("support_email", email)
        }
        for (field, column) in [("supportUrl", "support_url"), ("privacyPolicyUrl", "privacy_policy_url")] where body.sent(field) {
            let url = try body.string(field, length: 1...2048)
            if let url {
                // Pages a person opens from the onboarding page: https, or http for a private
                // target in development.
                let parsed = try URLRules.absolute(url, param: field)
                let scheme = parsed.scheme?.lowercased()
                guard scheme == "https" || (scheme == "http" && context.configuration.allowPrivateTargets) else {
                    throw APIError.validationFailed(param: field, "\(field) must be an https URL")
                }
            }
            try set(column, url)
        }
    }

    struct Rotated: Encodable {
        let eventSigningSecret: String
        let previousSecretExpiresAt: Date
    }

    /// The new secret signs from now on; the previous ones keep signing for 24 hours.
    static func rotate(_ context: APIContext) throws -> Response {
        let rotated = try SigningSecrets.rotate(accountID: context.account.accountID, vault: context.configuration.vault,
                                                on: context.connection)
        return .json(200, Rotated(eventSigningSecret: rotated.secret, previousSecretExpiresAt: rotated.previousExpireAt))
    }
}
