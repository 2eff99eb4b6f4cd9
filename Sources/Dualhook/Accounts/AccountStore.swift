import Crypto
import Foundation
import Postgres

/// The accounts table and its keys and signing secrets.
public enum AccountStore {
    public struct Created: Codable, Sendable {
        public let accountId: String
        public let apiKey: String
        public let eventSigningSecret: String
    }

    public struct Account: Encodable, Sendable {
        let accountId: String
        let name: String
        let displayName: String
        @Nullable var logoUrl: String?
        @Nullable var eventUrl: String?
        /// `#rrggbb`: the onboarding page's button colour.
        @Nullable var brandColor: String?
        @Nullable var supportEmail: String?
        @Nullable var supportUrl: String?
        @Nullable var privacyPolicyUrl: String?
        let redirectOrigins: [String]
        let rateLimitPerMinute: Int
        let createdAt: Date
        let eventEndpoint: EventEndpoint
    }

    /// How deliveries to the account's event URL (its default event endpoint) are going.
    struct EventEndpoint: Encodable, Sendable {
        /// `healthy`, `failing`, `disabled`, or `not_configured` (no event URL).
        let status: String
        @Nullable var failingSince: Date?
        @Nullable var lastError: String?
        @Nullable var lastSuccessAt: Date?
    }

    public struct KeySummary: Codable, Sendable {
        public let keyId: String
        public let prefix: String
        public let createdAt: Date
        public let revokedAt: Date?
    }

    /// An `eventUrl` as the API checks it (`PATCH /api/v1/account`), for the command line: an
    /// absolute http(s) URL without credentials, https and a public address unless private
    /// targets are allowed.
    public static func checkEventURL(_ url: String, allowPrivate: Bool) throws {
        _ = try URLRules.outbound(url, param: "eventUrl", maxLength: 2048, allowPrivate: allowPrivate)
    }

    public static func create(name: String, displayName: String?, logoURL: String?, eventURL: String?,
                              redirectOrigins: [String], vault: Vault, on connection: Connection) throws -> Created {
        try connection.transaction { tx in
            let id = Identifiers.make("acc")
            try tx.sql("""
                INSERT INTO accounts (id, name, display_name, logo_url, event_url, redirect_origins)
                VALUES (\(id), \(name), \(displayName ?? name), \(logoURL), \(eventURL), \(redirectOrigins)::text[])
                """)
            if let eventURL { try EventEndpointStore.setDefault(accountID: id, url: eventURL, on: tx) }
            let secret = try SigningSecrets.add(accountID: id, vault: vault, on: tx)
            let key = try createKey(accountID: id, on: tx)
            return Created(accountId: id, apiKey: key.apiKey, eventSigningSecret: secret)
        }
    }

    /// A new key; the key itself exists only in this return value.
    public static func createKey(accountID: String, on connection: Connection) throws -> (keyId: String, apiKey: String) {
        let key = Identifiers.apiKey()
        let id = Identifiers.make("key")
        try connection.sql("INSERT INTO api_keys (id, account_id, key_hash, prefix) VALUES (\(id), \(accountID), \(Digest.sha256(key)), \(String(key.prefix(12))))")
        return (id, key)
    }

    /// Revokes a live key (only the account's own when `accountID` is given); false when there
    /// is no such live key.
    public static func revokeKey(_ keyID: String, accountID: String? = nil, on connection: Connection) throws -> Bool {
        let ofAccount: PostgresQuery = accountID.map { "AND account_id = \($0)" } ?? ""
        return !(try connection.sql("UPDATE api_keys SET revoked_at = now() WHERE id = \(keyID) \(ofAccount) AND revoked_at IS NULL RETURNING 1").isEmpty)
    }

    /// The account's default event URL, as its default event endpoint holds it (that endpoint's
    /// store keeps the two the same).
    static func setEventURL(_ url: String?, accountID: String, on connection: Connection) throws {
        try connection.sql("UPDATE accounts SET event_url = \(url), updated_at = now() WHERE id = \(accountID)")
    }

    public static func listKeys(accountID: String, on connection: Connection) throws -> [KeySummary] {
        try connection.sql("SELECT id, prefix, created_at, revoked_at FROM api_keys WHERE account_id = \(accountID) ORDER BY created_at").rows.map {
            KeySummary(keyId: try $0.decode(at: 0), prefix: try $0.decode(at: 1), createdAt: try $0.decode(at: 2), revokedAt: try $0.decode(at: 3))
        }
    }

    /// An account as operators list it: never a key or secret, only counts.
    public struct Listed: Codable, Sendable {
        public let accountId: String
        public let name: String
        public let displayName: String?
        public let liveKeys: Int
        public let activeConnections: Int
        public let createdAt: Date
    }

    public static func list(on connection: Connection) throws -> [Listed] {
        try connection.sql("""
            SELECT a.id, a.name, a.display_name,
                   (SELECT count(*) FROM api_keys k WHERE k.account_id = a.id AND k.revoked_at IS NULL)::int,
                   (SELECT count(*) FROM connections c WHERE c.account_id = a.id AND c.status = 'active')::int,
                   a.created_at
            FROM accounts a ORDER BY a.created_at, a.id
            """).rows.map {
            Listed(accountId: try $0.decode(at: 0), name: try $0.decode(at: 1), displayName: try $0.decode(at: 2),
                   liveKeys: try $0.decode(at: 3), activeConnections: try $0.decode(at: 4), createdAt: try $0.decode(at: 5))
        }
    }

    public static func exists(_ accountID: String, on connection: Connection) throws -> Bool {
        !(try connection.sql("SELECT 1 FROM accounts WHERE id = \(accountID)").isEmpty)
    }

    static func find(_ accountID: String, on connection: Connection) throws -> Account? {
        try connection.sql("""
            SELECT a.id, a.name, a.display_name, a.logo_url, a.event_url, a.redirect_origins::text, a.rate_limit_per_minute,
                   a.created_at, CASE WHEN p.id IS NULL THEN 'not_configured' WHEN p.status = 'disabled' THEN 'disabled'
                                      WHEN p.failing_since IS NOT NULL THEN 'failing' ELSE 'healthy' END,
                   p.failing_since, p.last_error, p.last_success_at, a.brand_color, a.support_email, a.support_url,
                   a.privacy_policy_url
            FROM accounts a LEFT JOIN event_endpoints p ON p.account_id = a.id AND p.is_default WHERE a.id = \(accountID)
            """).first.map {
            Account(accountId: try $0.decode(at: 0), name: try $0.decode(at: 1), displayName: try $0.decode(at: 2),
                    logoUrl: try $0.decode(at: 3), eventUrl: try $0.decode(at: 4), brandColor: try $0.decode(at: 12),
                    supportEmail: try $0.decode(at: 13), supportUrl: try $0.decode(at: 14), privacyPolicyUrl: try $0.decode(at: 15),
                    redirectOrigins: PostgresTextArray.parse(try $0.decode(String.self, at: 5)),
                    rateLimitPerMinute: try $0.decode(at: 6), createdAt: try $0.decode(at: 7),
                    eventEndpoint: EventEndpoint(status: try $0.decode(at: 8), failingSince: try $0.decode(at: 9),
                                                 lastError: try $0.decode(at: 10), lastSuccessAt: try $0.decode(at: 11)))
        }
    }
}

/// Parses a one-dimensional text[] literal as the server prints it.
enum PostgresTextArray {
    /// Walks UTF-8 bytes, not characters: the quotes, backslashes and commas it looks for are
    /// ASCII and never part of a longer sequence, and event delivery parses an array of
    /// signing secrets per delivery (by characters, 2.5 % of the worker's samples).
    static func parse(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2 else { return [] }
        var out: [String] = []
        var current: [UInt8] = []
        var quoted = false
        var escaped = false
        var any = false
        for byte in bytes[1..<(bytes.count - 1)] {
            if escaped { current.append(byte); escaped = false; continue }
            switch byte {
            case UInt8(ascii: "\\") where quoted: escaped = true
            case UInt8(ascii: "\""): quoted.toggle(); any = true
            case UInt8(ascii: ",") where !quoted: out.append(String(decoding: current, as: UTF8.self)); current = []; any = false
            default: current.append(byte); any = true
            }
        }
        if any || !current.isEmpty { out.append(String(decoding: current, as: UTF8.self)) }
        return out
    }
}
