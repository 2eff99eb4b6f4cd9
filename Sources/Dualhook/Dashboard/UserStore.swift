import Crypto
import Foundation
import Postgres

/// The only writer of `users` and `user_sign_in_links`.
public enum UserStore {
    public struct Created: Encodable, Sendable {
        public let userId: String
        public let email: String
        public let signInUrl: String
    }

    public struct Listed: Encodable, Sendable {
        public let userId: String
        public let email: String
        public let accountId: String?
        public let role: String?
        public let `operator`: Bool
        public let totpEnabled: Bool
        public let passwordSet: Bool
        public let disabledAt: Date?
        public let createdAt: Date
    }

    public enum CreateError: Error, CustomStringConvertible {
        case emailTaken(String)
        case noSuchAccount(String)
        case invalidEmail(String)

        public var description: String {
            switch self {
            case .emailTaken(let email): "a user with email \(email) exists"
            case .noSuchAccount(let id): "no account \(id)"
            case .invalidEmail(let email): "\(email) is not an email address"
            }
        }
    }

    static let linkLifetime: TimeInterval = 86_400

    /// A user of an account (with a role) or an operator (`accountID` nil), and a one-time
    /// link (24 h) where they set their password.
    public static func create(email: String, accountID: String?, role: String?, publicURL: String,
                              on connection: Connection) throws -> Created {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
              !email.contains(where: { $0.isWhitespace }) else { throw CreateError.invalidEmail(email) }
        return try connection.transaction { tx in
            if let accountID, try tx.sql("SELECT 1 FROM accounts WHERE id = \(accountID)").first == nil {
                throw CreateError.noSuchAccount(accountID)
            }
            if try tx.sql("SELECT 1 FROM users WHERE lower(email) = lower(\(email))").first != nil { throw CreateError.emailTaken(email) }
            let id = Identifiers.make("usr")
            try tx.sql("INSERT INTO users (id, email, account_id, role) VALUES (\(id), \(email), \(accountID), \(accountID == nil ? nil : role ?? "viewer"))")
            let token = try newLink(userID: id, on: tx)
            return Created(userId: id, email: email, signInUrl: "\(publicURL)/dashboard/sign-in/\(token)")
        }
    }

    /// A fresh link; any earlier link of the user stops working.
    static func newLink(userID: String, on tx: Connection) throws -> String {
        try tx.sql("UPDATE user_sign_in_links SET used_at = now() WHERE user_id = \(userID) AND used_at IS NULL")
        let token = Identifiers.onboardingToken()
        try tx.sql("""
            INSERT INTO user_sign_in_links (token_hash, user_id, expires_at)
            VALUES (\(Digest.sha256(token)), \(userID), now() + make_interval(secs => \(linkLifetime)))
            """)
        return token
    }

    /// A fresh one-time link for an enabled user found by email (a forgotten password, or a
    /// second look at the demo's link); nil when there is none.
    public static func newSignInLink(email: String, publicURL: String, on connection: Connection) throws -> Created? {
        try connection.transaction { tx in
            guard let row = try tx.sql("SELECT id, email FROM users WHERE lower(email) = lower(\(email)) AND disabled_at IS NULL").first else {
                return nil
            }
            let id: String = try row.decode(at: 0)
            let token = try newLink(userID: id, on: tx)
            return Created(userId: id, email: try row.decode(at: 1), signInUrl: "\(publicURL)/dashboard/sign-in/\(token)")
        }
    }

    public static func list(on connection: Connection) throws -> [Listed] {
        try connection.sql("""
            SELECT id, email, account_id, role, totp_enabled, password_hash IS NOT NULL, disabled_at, created_at
            FROM users ORDER BY created_at, id
            """).rows.map {
            Listed(userId: try $0.decode(at: 0), email: try $0.decode(at: 1), accountId: try $0.decode(at: 2), role: try $0.decode(at: 3),
                   operator: try $0.decode(String?.self, at: 2) == nil, totpEnabled: try $0.decode(at: 4), passwordSet: try $0.decode(at: 5),
                   disabledAt: try $0.decode(at: 6), createdAt: try $0.decode(at: 7))
        }
    }

    /// Disables a user and ends their sessions; false when there is no such enabled user.
    public static func disable(_ id: String, on connection: Connection) throws -> Bool {
        try connection.transaction { tx in
            guard try tx.sql("UPDATE users SET disabled_at = now() WHERE id = \(id) AND disabled_at IS NULL RETURNING 1").first != nil else {
                return false
            }
            try DashboardSessions.revokeAll(userID: id, on: tx)
            return true
        }
    }

    /// The user a live sign-in link belongs to.
    static func linkOwner(token: String, on connection: Connection) throws -> DashboardUser? {
        try connection.sql("""
            SELECT \(unescaped: DashboardUser.columns) FROM user_sign_in_links l JOIN users u ON u.id = l.user_id
            WHERE l.token_hash = \(Digest.sha256(token)) AND l.used_at IS NULL AND l.expires_at > now() AND u.disabled_at IS NULL
            FOR UPDATE OF l
            """).first.map { try DashboardUser(row: $0) }
    }

    /// Sets the password through a sign-in link, which is used up; every session of the user ends.
    static func setPassword(token: String, userID: String, password: String, on tx: Connection) throws {
        // This link and any other the user still holds.
        try tx.sql("UPDATE user_sign_in_links SET used_at = now() WHERE user_id = \(userID) AND used_at IS NULL")
        try tx.sql("UPDATE users SET password_hash = \(PasswordHash.hash(password)), password_changed_at = now() WHERE id = \(userID)")
        try DashboardSessions.revokeAll(userID: userID, on: tx)
    }

    /// The enabled user with this email and password, or nil. A missing user costs the same
    /// scrypt work as a wrong password, so timing does not tell which emails exist.
    static func authenticate(email: String, password: String, on connection: Connection) throws -> DashboardUser? {
        let row = try connection.sql("""
            SELECT \(unescaped: DashboardUser.columns), u.password_hash FROM users u
            WHERE lower(u.email) = lower(\(email)) AND u.disabled_at IS NULL
            """).first
        let stored = try row?.decode(String?.self, at: 5) ?? PasswordHash.decoy
        guard PasswordHash.verify(password, against: stored), let row, try row.decode(String?.self, at: 5) != nil else { return nil }
        return try DashboardUser(row: row)
    }

    /// The user's TOTP secret, opened.
    static func totpSecret(userID: String, vault: Vault, on connection: Connection) throws -> Data? {
        guard let sealed = try connection.sql("SELECT totp_secret FROM users WHERE id = \(userID)").scalar(String?.self) ?? nil else { return nil }
        return Data(base64Encoded: try vault.openText(sealed, associatedData: "user:\(userID):totp"))
    }

    /// Checks a TOTP code, or a recovery code (used up), for a user with TOTP on. A code's step
    /// is remembered so the same code cannot sign in twice.
    static func verifySecondFactor(userID: String, code: String, vault: Vault, on tx: Connection) throws -> Bool {
        guard let secret = try totpSecret(userID: userID, vault: vault, on: tx) else { return false }
        let last = try tx.sql("SELECT totp_last_step FROM users WHERE id = \(userID) FOR UPDATE").scalar(Int64?.self) ?? nil
        if let step = TOTP.verify(code, secret: secret), Int64(step) > (last ?? -1) {
            try tx.sql("UPDATE users SET totp_last_step = \(Int64(step)) WHERE id = \(userID)")
            return true
        }
        let hash = Digest.sha256(code.lowercased().filter { $0.isLetter || $0.isNumber }).hexString
        return try tx.sql("""
            UPDATE users SET recovery_codes = recovery_codes - \(hash) WHERE id = \(userID) AND recovery_codes ? \(hash) RETURNING 1
            """).first != nil
    }

    /// Turns TOTP on once the user proved their app has the secret; answers the recovery codes,
    /// shown once.
    static func enableTOTP(userID: String, secret: Data, vault: Vault, on tx: Connection) throws -> [String] {
        let codes = (0..<8).map { _ in SecureRandom.base62(10).lowercased() }
        let hashes = codes.map { Digest.sha256($0).hexString }
        let encoded = String(decoding: try JSONSerialization.data(withJSONObject: hashes), as: UTF8.self)
        try tx.sql("""
            UPDATE users SET totp_secret = \(try vault.seal(secret.base64EncodedString(), associatedData: "user:\(userID):totp")),
                totp_enabled = true, recovery_codes = \(encoded)::jsonb WHERE id = \(userID)
            """)
        return codes
    }
}

extension PasswordHash {
    /// A hash no password matches, verified when the email is unknown so both cost the same.
    static let decoy = PasswordHash.hash(SecureRandom.base62(32))
}
