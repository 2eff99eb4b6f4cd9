import Crypto
import Foundation
import Postgres

/// An account's event signing secrets, sealed at rest and bound to the account.
enum SigningSecrets {
    static func associatedData(accountID: String) -> String { "account:\(accountID):signing_secret" }

    /// A new secret for the account; it exists in plaintext only in the return value.
    static func add(accountID: String, vault: Vault, on connection: Connection) throws -> String {
        let secret = Identifiers.signingSecret()
        try connection.query("INSERT INTO account_signing_secrets (account_id, sealed_secret) VALUES ($1, $2)",
                             [accountID, try vault.seal(secret, associatedData: associatedData(accountID: accountID))])
        return secret
    }

    /// A new secret that signs from now on; the ones before keep signing for 24 hours. Answers
    /// the new secret (plaintext only here) and when the previous ones stop.
    static func rotate(accountID: String, vault: Vault, on connection: Connection) throws -> (secret: String, previousExpireAt: Date) {
        let expires = try connection.sql("""
            UPDATE account_signing_secrets SET expires_at = LEAST(COALESCE(expires_at, 'infinity'), now() + interval '24 hours')
            WHERE account_id = \(accountID) AND (expires_at IS NULL OR expires_at > now())
            RETURNING expires_at
            """).scalar(Date.self) ?? Date().addingTimeInterval(86_400)
        return (try add(accountID: accountID, vault: vault, on: connection), expires)
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

    /// The secrets `validSQL` selected, opened; a secret that is not `whsec_<base64>` stops the
    /// signing rather than signing with something no receiver can check.
    static func openAll(_ textArray: String, accountID: String, vault: Vault) throws -> [String] {
        let secrets = try PostgresTextArray.parse(textArray).map { try open($0, accountID: accountID, vault: vault) }
        guard secrets.allSatisfy({ EventSignature.standardKey($0) != nil }) else { throw Malformed(accountID: accountID) }
        return secrets
    }

    struct Malformed: Error, CustomStringConvertible {
        let accountID: String
        var description: String { "a signing secret of account \(accountID) is not whsec_<base64>" }
    }

    /// A stored value opened: sealed, or (written before secrets were sealed) plain `whsec_…`.
    static func open(_ stored: String, accountID: String, vault: Vault) throws -> String {
        stored.hasPrefix("whsec_") ? stored : try vault.openText(stored, associatedData: associatedData(accountID: accountID))
    }
}
