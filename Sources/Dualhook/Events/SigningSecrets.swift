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

    /// A stored value opened: sealed, or (written before secrets were sealed) plain `whsec_…`.
    static func open(_ stored: String, accountID: String, vault: Vault) throws -> String {
        stored.hasPrefix("whsec_") ? stored : try vault.openText(stored, associatedData: associatedData(accountID: accountID))
    }
}
