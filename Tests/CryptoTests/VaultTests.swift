import Crypto
import Foundation
import Testing

@Suite struct VaultTests {
    let ring = Vault.generateKeyRingEntry(id: "k2") + "," + Vault.generateKeyRingEntry(id: "k1")

    @Test func sealsWithTheActiveKeyAndOpensWithTheRing() throws {
        let vault = try Vault(keyRing: ring)
        let sealed = try vault.seal("EAAG-secret-token", associatedData: "conn_1")
        #expect(sealed.hasPrefix("v1:k2:"))
        #expect(!sealed.contains("EAAG-secret-token"))
        #expect(try vault.openText(sealed, associatedData: "conn_1") == "EAAG-secret-token")
        // Same plaintext, fresh nonce each time.
        #expect(try vault.seal("EAAG-secret-token", associatedData: "conn_1") != sealed)
    }

    @Test func sealedTextIsNonceCiphertextTagForEverySize() throws {
        let vault = try Vault(keyRing: ring)
        for size in [0, 1, 15, 16, 17, 1000] {
            let plaintext = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 * 7) })
            let sealed = try vault.seal(plaintext, associatedData: "row_\(size)")
            #expect(Data(base64Encoded: String(sealed.split(separator: ":")[2]))?.count == 12 + size + 16)
            #expect(try vault.open(sealed, associatedData: "row_\(size)") == plaintext)
        }
    }

    /// Sealed by another AES-256-GCM implementation (Python's `cryptography`, key 00…1f, nonce
    /// 64…6f, associated data `conn_1`): what this vault opens is the standard construction.
    @Test func opensWhatAnotherImplementationSealed() throws {
        let vault = try Vault(keyRing: "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        #expect(try vault.openText("v1:k1:ZGVmZ2hpamtsbW5vDVqfIVSaM/1MByvFrgoBmCxSnRwlHO5RkxbCyd9psS2D", associatedData: "conn_1")
            == "EAAG-secret-token")
        #expect(try vault.open("v1:k1:ZGVmZ2hpamtsbW5vOlVlFRVedddb7u3YqGVRmg==", associatedData: "conn_1") == Data())
    }

    @Test func theWrongRowTamperingOrAMissingKeyAreRefused() throws {
        let vault = try Vault(keyRing: ring)
        let sealed = try vault.seal("secret", associatedData: "conn_1")
        #expect(throws: Vault.VaultError.authenticationFailed) { try vault.open(sealed, associatedData: "conn_2") }
        var bytes = Array(Data(base64Encoded: String(sealed.split(separator: ":")[2]))!)
        bytes[14] ^= 0x01
        let tampered = "v1:k2:" + Data(bytes).base64EncodedString()
        #expect(throws: Vault.VaultError.authenticationFailed) { try vault.open(tampered, associatedData: "conn_1") }
        let other = try Vault(keyRing: Vault.generateKeyRingEntry(id: "k9"))
        #expect(throws: Vault.VaultError.unknownKey("k2")) { try other.open(sealed, associatedData: "conn_1") }
        #expect(throws: Vault.VaultError.malformed) { try vault.open("v1:k2:%%%", associatedData: "conn_1") }
    }

    @Test func rotationKeepsOldSecretsReadable() throws {
        let oldEntry = Vault.generateKeyRingEntry(id: "old")
        let sealed = try Vault(keyRing: oldEntry).seal(Data([0, 1, 2, 255]), associatedData: "row")
        // The rotated ring puts a new active key first and keeps the old one for reading.
        let rotated = try Vault(keyRing: Vault.generateKeyRingEntry(id: "new") + "," + oldEntry)
        #expect(try rotated.open(sealed, associatedData: "row") == Data([0, 1, 2, 255]))
        #expect(try rotated.seal("x", associatedData: "row").hasPrefix("v1:new:"))
    }

    @Test func badKeyRingsAreRefusedWithoutEchoingKeys() {
        for ring in ["", "nokey", "k1:notbase64!!", "k1:" + Data(count: 16).base64EncodedString(), "k1:AAAA,k1:AAAA"] {
            #expect(throws: Vault.VaultError.self) { try Vault(keyRing: ring) }
        }
    }
}
