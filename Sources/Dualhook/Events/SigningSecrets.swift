import Crypto
import Foundation
import Postgres

/// Event signing secrets, sealed at rest and bound to their owner: the account's (which sign its
/// default endpoint and the management forwards) or one event endpoint's own.
enum SigningSecrets {
    enum Owner {
        case account(String)
        case endpoint(String)

        var associatedData: String {
            switch self {
            case .account(let id): "account:\(id):signing_secret"
            case .endpoint(let id): "endpoint:\(id):signing_secret"
            }
        }

        /// The owner's table and the column naming it: this program's SQL, never input.
        var table: (name: String, column: String) {
            switch self {
            case .account: ("account_signing_secrets", "account_id")
            case .endpoint: ("event_endpoint_secrets", "endpoint_id")
            }
        }

        var id: String {
            switch self {
            case .account(let id), .endpoint(let id): id
            }
        }
    }

    static let defaultOverlap: TimeInterval = 86_400

    static func associatedData(accountID: String) -> String { Owner.account(accountID).associatedData }

    /// A new account secret; it exists in plaintext only in the return value.
    static func add(accountID: String, vault: Vault, on connection: Connection) throws -> String {
        try add(.account(accountID), vault: vault, on: connection)
    }

    /// A new secret for the owner; it exists in plaintext only in the return value.
    static func add(_ owner: Owner, vault: Vault, on connection: Connection) throws -> String {
        let secret = Identifiers.signingSecret()
        let table = owner.table
        try connection.sql("""
            INSERT INTO \(unescaped: table.name) (\(unescaped: table.column), sealed_secret)
            VALUES (\(owner.id), \(try vault.seal(secret, associatedData: owner.associatedData)))
            """)
        return secret
    }

    /// A new account secret that signs from now on; the ones before keep signing for 24 hours.
    static func rotate(accountID: String, vault: Vault, on connection: Connection) throws -> (secret: String, previousExpireAt: Date) {
        try rotate(.account(accountID), overlap: defaultOverlap, vault: vault, on: connection)
    }

    /// A new secret that signs from now on; the ones before keep signing for `overlap` seconds
    /// (never longer than they already would). Answers the new secret (plaintext only here) and
    /// when the previous ones stop: the last of them to stop (after two rotations in a row,
    /// the secret the second one replaced, not the first's shorter overlap).
    static func rotate(_ owner: Owner, overlap: TimeInterval, vault: Vault, on connection: Connection) throws -> (secret: String, previousExpireAt: Date) {
        let table = owner.table
        let latest = try connection.sql("""
            WITH ended AS (
                UPDATE \(unescaped: table.name)
                SET expires_at = LEAST(COALESCE(expires_at, 'infinity'), now() + make_interval(secs => \(overlap)::float8))
                WHERE \(unescaped: table.column) = \(owner.id) AND (expires_at IS NULL OR expires_at > now())
                RETURNING expires_at)
            SELECT max(expires_at) FROM ended
            """).scalar(Date?.self)
        let expires = (latest ?? nil) ?? Date().addingTimeInterval(overlap)
        return (try add(owner, vault: vault, on: connection), expires)
    }

    /// SQL for the account's valid secrets, newest first, as one text[] column: `account` is
    /// the column (in the caller's statement) naming the account.
    static func validSQL(account: String) -> String {
        """
        ARRAY(SELECT k.sealed_secret FROM account_signing_secrets k
              WHERE k.account_id = \(account) AND (k.expires_at IS NULL OR k.expires_at > now())
              ORDER BY k.created_at DESC, k.id DESC)::text
        """
    }

    /// SQL for an endpoint's valid secrets as one text[] column: the account's for the default
    /// endpoint, its own for the others. `endpoint` is the alias of `event_endpoints`.
    static func validSQL(endpoint p: String) -> String {
        """
        CASE WHEN \(p).is_default THEN \(validSQL(account: "\(p).account_id"))
             ELSE ARRAY(SELECT s.sealed_secret FROM event_endpoint_secrets s
                        WHERE s.endpoint_id = \(p).id AND (s.expires_at IS NULL OR s.expires_at > now())
                        ORDER BY s.created_at DESC, s.id DESC)::text END
        """
    }

    /// The secrets `validSQL` selected, opened; a secret that is not `whsec_<base64>` stops the
    /// signing rather than signing with something no receiver can check.
    static func openAll(_ textArray: String, accountID: String, vault: Vault) throws -> [String] {
        try openAll(textArray, owner: .account(accountID), vault: vault)
    }

    /// `cache`: secrets this process opened before (event delivery keeps one).
    static func openAll(_ textArray: String, owner: Owner, vault: Vault, cache: OpenedSecrets? = nil) throws -> [String] {
        let secrets = try PostgresTextArray.parse(textArray).map { stored in
            // Written before account secrets were sealed: plain `whsec_…`.
            if stored.hasPrefix("whsec_") { return stored }
            if let cache { return try cache.open(stored, associatedData: owner.associatedData, vault: vault) }
            return try vault.openText(stored, associatedData: owner.associatedData)
        }
        guard secrets.allSatisfy({ EventSignature.standardKey($0) != nil }) else { throw Malformed(accountID: owner.id) }
        return secrets
    }

    struct Malformed: Error, CustomStringConvertible {
        let accountID: String
        var description: String { "a signing secret of \(accountID) is not whsec_<base64>" }
    }
}
