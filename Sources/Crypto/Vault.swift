import CCrypto
import Foundation

/// Secrets at rest: AES-256-GCM with a random 96-bit nonce and caller-chosen associated data
/// (a row's id, so a ciphertext cannot be moved to another row), stored as
/// `v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`.
///
/// The key ring comes from `DUALHOOK_MASTER_KEYS` (`kid:base64(32 bytes)[,kid:…]`). The first
/// key encrypts; every key decrypts, so keys rotate without downtime.
public struct Vault: Sendable {
    public struct Key: Sendable {
        public let id: String
        let bytes: [UInt8]
    }

    public enum VaultError: Error, CustomStringConvertible, Equatable {
        case badKeyRing(String)
        case unknownKey(String)
        case malformed
        case authenticationFailed

        public var description: String {
            switch self {
            case .badKeyRing(let why): "DUALHOOK_MASTER_KEYS is not a key ring: \(why)"
            case .unknownKey(let id): "a secret was sealed with key \(id), which is not in DUALHOOK_MASTER_KEYS"
            case .malformed: "a sealed secret is malformed"
            case .authenticationFailed: "a sealed secret failed authentication (wrong key, wrong row, or tampered)"
            }
        }
    }

    public let keys: [Key]

    /// Parses `kid:base64,kid:base64`; the first key is the active one. Key material never
    /// appears in an error.
    public init(keyRing: String) throws {
        var keys: [Key] = []
        for item in keyRing.split(separator: ",") {
            let parts = item.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                throw VaultError.badKeyRing("each entry is kid:base64")
            }
            guard let data = Data(base64Encoded: parts[1]), data.count == 32 else {
                throw VaultError.badKeyRing("key \(parts[0]) is not 32 bytes of base64")
            }
            guard !keys.contains(where: { $0.id == parts[0] }) else { throw VaultError.badKeyRing("key \(parts[0]) appears twice") }
            keys.append(Key(id: parts[0], bytes: Array(data)))
        }
        guard !keys.isEmpty else { throw VaultError.badKeyRing("no keys") }
        self.keys = keys
    }

    /// A fresh key ring entry, for `ops/` scripts and tests.
    public static func generateKeyRingEntry(id: String) -> String {
        "\(id):\(SecureRandom.bytes(32).base64EncodedString())"
    }

    /// AES-256-GCM fetched once. `nonisolated(unsafe)`: a fetched `EVP_CIPHER` is immutable
    /// and OpenSSL lets any number of threads use it at once. `EVP_aes_256_gcm()` instead makes
    /// every `EncryptInit`/`DecryptInit` look the cipher up again.
    nonisolated(unsafe) static let aes256GCM = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)

    /// `v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`, written into one buffer.
    public func seal(_ plaintext: Data, associatedData: String) throws -> String {
        let key = keys[0]
        let nonce = SecureRandom.byteArray(12)
        // nonce (12) ‖ ciphertext (as long as the plaintext) ‖ tag (16); GCM writes no more
        // than it is given, the extra 16 bytes are EncryptFinal's room.
        var sealed = [UInt8](repeating: 0, count: 12 + plaintext.count + 16 + 16)
        sealed.replaceSubrange(0..<12, with: nonce)
        let aad = Array(associatedData.utf8)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw VaultError.malformed }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var length: Int32 = 0
        var total = 0
        let ok: Bool = sealed.withUnsafeMutableBufferPointer { buffer in
            plaintext.withUnsafeBytes { input in
                let out = buffer.baseAddress! + 12
                guard EVP_EncryptInit_ex(ctx, Vault.aes256GCM, nil, nil, nil) == 1,
                      dh_gcm_set_ivlen(ctx, 12) == 1,
                      EVP_EncryptInit_ex(ctx, nil, nil, key.bytes, nonce) == 1,
                      EVP_EncryptUpdate(ctx, nil, &length, aad, Int32(aad.count)) == 1,
                      EVP_EncryptUpdate(ctx, out, &length, input.bindMemory(to: UInt8.self).baseAddress, Int32(input.count)) == 1
                else { return false }
                total = Int(length)
                guard EVP_EncryptFinal_ex(ctx, out + total, &length) == 1 else { return false }
                total += Int(length)
                return dh_gcm_get_tag(ctx, out + total, 16) == 1
            }
        }
        guard ok else { throw VaultError.malformed }
        sealed.removeSubrange((12 + total + 16)...)
        return "v1:\(key.id):\(Data(sealed).base64EncodedString())"
    }

    public func open(_ sealed: String, associatedData: String) throws -> Data {
        let parts = sealed.split(separator: ":", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "v1", let blob = Data(base64Encoded: parts[2]), blob.count >= 28 else {
            throw VaultError.malformed
        }
        guard let key = keys.first(where: { $0.id == parts[1] }) else { throw VaultError.unknownKey(parts[1]) }
        let bytes = Array(blob)
        let nonce = Array(bytes[0..<12])
        var tag = Array(bytes[(bytes.count - 16)...])
        let ciphertext = Array(bytes[12..<(bytes.count - 16)])
        let aad = Array(associatedData.utf8)
        var out = [UInt8](repeating: 0, count: ciphertext.count + 16)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw VaultError.malformed }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var length: Int32 = 0
        guard EVP_DecryptInit_ex(ctx, Vault.aes256GCM, nil, nil, nil) == 1,
              dh_gcm_set_ivlen(ctx, 12) == 1,
              EVP_DecryptInit_ex(ctx, nil, nil, key.bytes, nonce) == 1,
              EVP_DecryptUpdate(ctx, nil, &length, aad, Int32(aad.count)) == 1,
              EVP_DecryptUpdate(ctx, &out, &length, ciphertext, Int32(ciphertext.count)) == 1 else { throw VaultError.malformed }
        let total = Int(length)
        guard dh_gcm_set_tag(ctx, &tag, 16) == 1,
              out.withUnsafeMutableBufferPointer({ EVP_DecryptFinal_ex(ctx, $0.baseAddress! + total, &length) }) == 1 else {
            throw VaultError.authenticationFailed
        }
        return Data(out.prefix(total + Int(length)))
    }

    /// Convenience for text secrets.
    public func seal(_ text: String, associatedData: String) throws -> String {
        try seal(Data(text.utf8), associatedData: associatedData)
    }

    public func openText(_ sealed: String, associatedData: String) throws -> String {
        String(decoding: try open(sealed, associatedData: associatedData), as: UTF8.self)
    }
}
