import CCrypto
import Foundation

/// Passwords stored with scrypt (RFC 7914) from libcrypto's `EVP_PBE_scrypt`, as
/// `scrypt$<N>$<r>$<p>$<salt base64>$<key base64>`. The parameters travel with each hash, so
/// they can be raised later without invalidating stored passwords.
///
/// Parameters: N = 32,768, r = 8, p = 1 (32 MiB of memory per check, about 0.1 s on this
/// project's 2-core machines), a 16-byte random salt and a 32-byte key. OWASP's minimum for
/// scrypt is N = 2^17 with r = 8, p = 1 or an equivalent; N = 2^15 with a login rate limit is
/// the documented trade-off for small hosts, and `Parameters.strong` is there for larger ones.
public enum PasswordHash {
    public struct Parameters: Sendable {
        public let n: UInt64
        public let r: UInt64
        public let p: UInt64

        public static let standard = Parameters(n: 1 << 15, r: 8, p: 1)
        public static let strong = Parameters(n: 1 << 17, r: 8, p: 1)

        public init(n: UInt64, r: UInt64, p: UInt64) {
            self.n = n
            self.r = r
            self.p = p
        }

        /// scrypt needs 128 · N · r bytes, plus room.
        var maxMemory: UInt64 { 128 * n * r + (16 << 20) }
    }

    public static func hash(_ password: String, parameters: Parameters = .standard) -> String {
        let salt = SecureRandom.bytes(16)
        let key = derive(password, salt: salt, parameters: parameters, length: 32) ?? Data()
        return "scrypt$\(parameters.n)$\(parameters.r)$\(parameters.p)$\(salt.base64EncodedString())$\(key.base64EncodedString())"
    }

    /// True when `password` is the one `stored` was made from; false for anything malformed.
    public static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let n = UInt64(parts[1]), let r = UInt64(parts[2]), let p = UInt64(parts[3]),
              n > 1, n & (n - 1) == 0, n <= 1 << 20, (1...32).contains(r), (1...16).contains(p),
              let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5]), !expected.isEmpty,
              let key = derive(password, salt: salt, parameters: Parameters(n: n, r: r, p: p), length: expected.count) else {
            return false
        }
        return ConstantTime.equals(key, expected)
    }

    /// The raw scrypt key (RFC 7914's test vectors check it).
    public static func derive(_ password: String, salt: Data, parameters: Parameters, length: Int) -> Data? {
        var out = Data(count: length)
        let passwordBytes = Array(password.utf8)
        let saltBytes = Array(salt)
        let status = out.withUnsafeMutableBytes { outBuffer in
            passwordBytes.withUnsafeBufferPointer { pass in
                saltBytes.withUnsafeBufferPointer { s in
                    pass.withMemoryRebound(to: CChar.self) { passChars in
                        EVP_PBE_scrypt(passChars.baseAddress, pass.count, s.baseAddress, s.count, parameters.n, parameters.r, parameters.p,
                                       parameters.maxMemory, outBuffer.bindMemory(to: UInt8.self).baseAddress, length)
                    }
                }
            }
        }
        return status == 1 ? out : nil
    }
}
