import Crypto
@testable import Dualhook
import Testing

/// Event delivery opens each sealed signing secret once: the cache answers what the vault
/// would, for the same owner only, and stays within its bound.
@Suite struct OpenedSecretsTests {
    @Test func eachSealedSecretIsOpenedOnceForItsOwnerOnly() throws {
        let vault = try Vault(keyRing: Vault.generateKeyRingEntry(id: "k1"))
        let a = SigningSecrets.Owner.endpoint("ep_a").associatedData
        let b = SigningSecrets.Owner.endpoint("ep_b").associatedData
        let sealedA = try vault.seal("whsec_YWFhYQ==", associatedData: a)
        let cache = OpenedSecrets(limit: 2)
        #expect(try cache.open(sealedA, associatedData: a, vault: vault) == "whsec_YWFhYQ==")
        #expect(try cache.open(sealedA, associatedData: a, vault: vault) == "whsec_YWFhYQ==")
        #expect(cache.count == 1)
        // Another owner's row holding the same text does not open: the associated data differs.
        #expect(throws: (any Error).self) { try cache.open(sealedA, associatedData: b, vault: vault) }
        #expect(cache.count == 1)
        // Past the bound the cache starts again.
        _ = try cache.open(try vault.seal("whsec_YmJiYg==", associatedData: b), associatedData: b, vault: vault)
        #expect(cache.count == 2)
        _ = try cache.open(try vault.seal("whsec_Y2NjYw==", associatedData: b), associatedData: b, vault: vault)
        #expect(cache.count == 1)
    }

    @Test func aDeliveryOpensItsSecretsThroughTheCache() throws {
        let vault = try Vault(keyRing: Vault.generateKeyRingEntry(id: "k1"))
        let owner = SigningSecrets.Owner.account("acc_1")
        let sealed = try vault.seal("whsec_YWFhYQ==", associatedData: owner.associatedData)
        let cache = OpenedSecrets()
        let text = "{\"\(sealed)\",whsec_YmJiYg==}"
        #expect(try SigningSecrets.openAll(text, owner: owner, vault: vault, cache: cache) == ["whsec_YWFhYQ==", "whsec_YmJiYg=="])
        #expect(cache.count == 1, "the plain (unsealed) secret is not cached")
    }
}
