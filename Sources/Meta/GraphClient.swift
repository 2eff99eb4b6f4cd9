import Crypto
import Foundation
import HTTPClient

/// A typed client for the Graph API calls Dualhook makes. Calls made with a token carry
/// `appsecret_proof` (HMAC-SHA256 of the token with the app secret); non-2xx answers become
/// `GraphError`. URLs can hold the app secret or a code, so they are never put in an error.
public struct GraphClient: Sendable {
    public struct Configuration: Sendable {
        public var baseURL: String
        public var version: String
        public var appID: String
        public var appSecret: String

        public init(baseURL: String, version: String, appID: String, appSecret: String) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.version = version
            self.appID = appID
            self.appSecret = appSecret
        }
    }

    public struct AccessToken: Decodable, Sendable {
        public let access_token: String
        public let token_type: String?
        public let expires_in: Int?
    }

    public struct PhoneNumber: Decodable, Sendable, Equatable {
        public let id: String
        public let display_phone_number: String?
        public let verified_name: String?
        public let quality_rating: String?
        public let is_on_biz_app: Bool?
        public let platform_type: String?
        public let code_verification_status: String?
        public let status: String?
        public let health_status: HealthStatus?
        public let webhook_configuration: WebhookConfiguration?
        /// The messaging limit as WhatsApp Manager shows it (e.g. `TIER_2K`); since October 2025 it
        /// is the business portfolio's, shared by its numbers. It replaces `messaging_limit_tier`:
        /// "The `messaging_limit_tier` field ... has been deprecated. Request the
        /// `whatsapp_business_manager_messaging_limit` field instead."
        /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/messaging-limits).
        /// A missing value is read as "unchanged".
        public let whatsapp_business_manager_messaging_limit: String?

        /// Whether Meta shows the number's ownership verified: only such a number can be
        /// registered. Meta's pages name the other values `NOT_VERIFIED`, `UNVERIFIED` and
        /// `EXPIRED`, so anything but `VERIFIED` is not.
        public var isVerified: Bool { code_verification_status == "VERIFIED" }
    }

    /// Where Meta sends a number's webhooks, level by level, as
    /// `GET /{phone}?fields=webhook_configuration` shows it
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/override):
    /// `whatsapp_business_account` only when the WABA has an override.
    public struct WebhookConfiguration: Decodable, Sendable, Equatable {
        public let phone_number: String?
        public let whatsapp_business_account: String?
        public let application: String?

        public init(phone_number: String?, whatsapp_business_account: String?, application: String?) {
            self.phone_number = phone_number
            self.whatsapp_business_account = whatsapp_business_account
            self.application = application
        }

        /// Meta's precedence: the number's override, else the WABA's, else the app's callback.
        public var effective: String? { phone_number ?? whatsapp_business_account ?? application }
    }

    /// One app subscribed to a WABA, as `GET /{waba}/subscribed_apps` lists it, with the WABA's
    /// override when it has one.
    public struct SubscribedApp: Decodable, Sendable {
        public struct App: Decodable, Sendable { public let id: String? }
        public let whatsapp_business_api_data: App?
        public let override_callback_uri: String?
    }

    /// `health_status` of a number: whether it can send (`AVAILABLE`, `LIMITED`, `BLOCKED`),
    /// and for each entity involved (number, WABA, business, app) its own status
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/support/health-status).
    /// The `errors` of a limited entity (`error_code`, `error_description`, `possible_solution`)
    /// are read as partners document them; every field is optional, so another shape reads as none.
    public struct HealthStatus: Decodable, Sendable, Equatable {
        public struct Entity: Decodable, Sendable, Equatable {
            public struct Problem: Decodable, Sendable, Equatable {
                public let error_code: Int?
                public let error_description: String?
                public let possible_solution: String?
            }
            public let entity_type: String?
            public let id: String?
            public let can_send_message: String?
            public let errors: [Problem]?
        }
        public let can_send_message: String?
        public let entities: [Entity]?
    }

    /// What a health poll reads.
    public static let healthFields = "quality_rating,health_status,status,whatsapp_business_manager_messaging_limit"

    struct Page<T: Decodable>: Decodable { let data: [T] }
    struct Success: Decodable { let success: Bool? }

    public static let phoneFields = "display_phone_number,verified_name,quality_rating,is_on_biz_app,platform_type,code_verification_status"

    public let configuration: Configuration
    let http: HTTPClient
    /// Shared by the copies of this client: one process, one app.
    let appThrottle = AppThrottle()

    public init(configuration: Configuration, http: HTTPClient) {
        self.configuration = configuration
        self.http = http
    }

    /// HMAC-SHA256(app secret, token), hex.
    public func appSecretProof(_ token: String) -> String {
        Digest.hmacSHA256(key: Data(configuration.appSecret.utf8), message: Data(token.utf8)).hexString
    }

    // MARK: Calls

    /// The Embedded Signup code for a business token (the code lives 30 s and works once).
    public func exchangeCode(_ code: String, deadline: Date) throws -> AccessToken {
        try call("GET", "oauth/access_token",
                 query: [("client_id", configuration.appID), ("client_secret", configuration.appSecret), ("code", code)],
                 token: nil, deadline: deadline)
    }

    public func phoneNumbers(waba: String, token: String, deadline: Date) throws -> [PhoneNumber] {
        let page: Page<PhoneNumber> = try call("GET", "\(waba)/phone_numbers", query: [("fields", "id," + GraphClient.phoneFields)],
                                               token: token, deadline: deadline)
        return page.data
    }

    public func phoneNumber(_ id: String, fields: String = GraphClient.phoneFields, token: String, deadline: Date) throws -> PhoneNumber {
        try call("GET", id, query: [("fields", fields)], token: token, deadline: deadline)
    }

    /// The app's subscription to the WABA, or nil when it is not subscribed.
    public func subscription(waba: String, token: String, deadline: Date) throws -> SubscribedApp? {
        let page: Page<SubscribedApp> = try call("GET", "\(waba)/subscribed_apps", query: [], token: token, deadline: deadline)
        return page.data.first { $0.whatsapp_business_api_data?.id == configuration.appID }
    }

    /// The app's plain subscription to the WABA's webhooks; Meta requires it before an override.
    /// It also removes the WABA's override: "Subscribing without post body parameters removes
    /// the alternate callback URL from the WABA"
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/override),
    /// so it is only for a WABA the app is not subscribed to yet.
    public func subscribe(waba: String, token: String, deadline: Date) throws {
        let _: Success = try call("POST", "\(waba)/subscribed_apps", query: [], token: token, deadline: deadline)
    }

    /// Webhook Override: the WABA's webhooks go to `callbackURI`, verified with `verifyToken`.
    public func overrideCallback(waba: String, callbackURI: String, verifyToken: String, token: String, deadline: Date) throws {
        let _: Success = try call("POST", "\(waba)/subscribed_apps",
                                  form: [("override_callback_uri", callbackURI), ("verify_token", verifyToken)],
                                  token: token, deadline: deadline)
    }

    /// A number's own override (`webhook_configuration`), which wins over the WABA's; an empty
    /// `callbackURI` removes it.
    public func overridePhoneCallback(phone: String, callbackURI: String, verifyToken: String?, token: String, deadline: Date) throws {
        var object = ["override_callback_uri": callbackURI]
        if let verifyToken { object["verify_token"] = verifyToken }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        let _: Success = try call("POST", phone, form: [("webhook_configuration", json)], token: token, deadline: deadline)
    }

    /// Where Meta sends the number's webhooks now.
    public func webhookConfiguration(phone: String, token: String, deadline: Date) throws -> WebhookConfiguration {
        let fields: PhoneNumber = try call("GET", phone, query: [("fields", "webhook_configuration")], token: token, deadline: deadline)
        return fields.webhook_configuration ?? WebhookConfiguration(phone_number: nil, whatsapp_business_account: nil, application: nil)
    }

    public func unsubscribe(waba: String, token: String, deadline: Date) throws {
        let _: Success = try call("DELETE", "\(waba)/subscribed_apps", query: [], token: token, deadline: deadline)
    }

    /// Registers a Cloud API number (not for coexistence numbers).
    public func register(phone: String, pin: String, token: String, deadline: Date) throws {
        let _: Success = try call("POST", "\(phone)/register", form: [("messaging_product", "whatsapp"), ("pin", pin)],
                                  token: token, deadline: deadline)
    }

    /// Sets the number's two-step verification PIN (`POST /{phone}` with `pin`). Meta: "There is
    /// no endpoint to disable two-step verification"; a PIN that is not known can be updated
    /// (https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/two-step-verification/).
    public func setTwoStepPIN(phone: String, pin: String, token: String, deadline: Date) throws {
        let _: Success = try call("POST", phone, form: [("pin", pin)], token: token, deadline: deadline)
    }

    /// Coexistence: asks for the WhatsApp Business app's contacts (`smb_app_state_sync`) or
    /// message history (`history`) to be synchronised.
    public func requestSync(phone: String, type: String, token: String, deadline: Date) throws -> String? {
        let answer: SyncRequest = try call("POST", "\(phone)/smb_app_data", form: [("messaging_product", "whatsapp"), ("sync_type", type)],
                                  token: token, deadline: deadline)
        return answer.request_id
    }

    /// `{"messaging_product":"whatsapp","request_id":"…"}`
    struct SyncRequest: Decodable { let request_id: String? }

    // MARK: Plumbing

    private func call<T: Decodable>(_ method: String, _ path: String, query: [(String, String)] = [], form: [(String, String)]? = nil,
                                    token: String?, deadline: Date) throws -> T {
        var parameters = query
        if let token { parameters.append(("appsecret_proof", appSecretProof(token))) }
        var url = "\(configuration.baseURL)/\(configuration.version)/\(path)"
        if !parameters.isEmpty { url += "?" + GraphClient.encode(parameters) }
        var headers: [(String, String)] = []
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        var body: Data?
        if let form {
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            body = Data(GraphClient.encode(form).utf8)
        } else if method == "POST" {
            body = Data()
        }
        try appThrottle.check()
        let response = try http.send(.init(method: method, url: url, headers: headers, body: body), deadline: deadline)
        guard (200..<300).contains(response.status) else {
            let error = GraphError.decode(status: response.status, body: response.body, headers: response.headers)
            appThrottle.record(error)
            throw error
        }
        do {
            return try JSONDecoder().decode(T.self, from: response.body)
        } catch {
            throw GraphError(httpStatus: response.status, code: -1, subcode: nil, type: nil,
                             message: "unexpected answer shape for \(method) \(GraphClient.route(path))", fbtraceID: nil)
        }
    }

    /// A path with ids replaced, for messages: `{id}/subscribed_apps`.
    static func route(_ path: String) -> String {
        path.split(separator: "/").map { $0.allSatisfy(\.isNumber) ? "{id}" : String($0) }.joined(separator: "/")
    }

    static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: unreserved)!)=\($0.1.addingPercentEncoding(withAllowedCharacters: unreserved)!)" }
            .joined(separator: "&")
    }
}
