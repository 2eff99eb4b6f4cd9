import CCrypto
import Foundation

/// Cryptographically secure randomness from OpenSSL's DRBG.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> Data { Data(byteArray(count)) }

    /// As `bytes`, in an array, for callers that read the bytes one at a time (iterating `Data`
    /// cost about 150 instructions a byte in `Data.hexString`, callgrind).
    public static func byteArray(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        // RAND_bytes fails only when the DRBG cannot be seeded; continuing with weak randomness
        // would silently mint guessable keys and tokens.
        precondition(ok == 1, "the system random generator failed")
        return out
    }

    static let base62Alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// `length` characters drawn uniformly from [0-9A-Za-z] (rejection sampling, no modulo bias).
    public static func base62(_ length: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(length)
        while out.count < length {
            for byte in byteArray(length * 2) where byte < 248 {
                out.append(base62Alphabet[Int(byte) % 62])
                if out.count == length { break }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Comparison whose running time does not depend on where two secrets differ.
public enum ConstantTime {
    public static func equals(_ a: some DataProtocol, _ b: some DataProtocol) -> Bool {
        let x = Array(a), y = Array(b)
        guard x.count == y.count else { return false }
        if x.isEmpty { return true }
        return x.withUnsafeBytes { px in
            y.withUnsafeBytes { py in CRYPTO_memcmp(px.baseAddress, py.baseAddress, x.count) == 0 }
        }
    }
}
