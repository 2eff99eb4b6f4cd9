import CCrypto
import Foundation

/// SHA-256 and HMAC-SHA256 over OpenSSL's libcrypto.
public enum Digest {
    public static func sha256(_ data: some DataProtocol) -> Data {
        var out = Data(count: 32)
        let bytes = Array(data)
        out.withUnsafeMutableBytes { outBuffer in
            bytes.withUnsafeBytes { input in
                _ = EVP_Digest(input.baseAddress, input.count, outBuffer.bindMemory(to: UInt8.self).baseAddress, nil, EVP_sha256(), nil)
            }
        }
        return out
    }

    public static func sha256(_ string: String) -> Data { sha256(Data(string.utf8)) }

    public static func hmacSHA256(key: some DataProtocol, message: some DataProtocol) -> Data {
        hmac(EVP_sha256(), length: 32, key: key, message: message)
    }

    /// HMAC-SHA1: only for TOTP, which authenticator apps compute with SHA-1 (RFC 6238).
    public static func hmacSHA1(key: some DataProtocol, message: some DataProtocol) -> Data {
        hmac(EVP_sha1(), length: 20, key: key, message: message)
    }

    static func hmac(_ md: OpaquePointer?, length size: Int, key: some DataProtocol, message: some DataProtocol) -> Data {
        var out = Data(count: size)
        var length = UInt32(size)
        let keyBytes = Array(key)
        let messageBytes = Array(message)
        out.withUnsafeMutableBytes { outBuffer in
            keyBytes.withUnsafeBytes { k in
                messageBytes.withUnsafeBytes { m in
                    _ = HMAC(md, k.baseAddress, Int32(k.count), m.bindMemory(to: UInt8.self).baseAddress, m.count,
                             outBuffer.bindMemory(to: UInt8.self).baseAddress, &length)
                }
            }
        }
        return out
    }
}

extension Data {
    /// Lower-case hexadecimal.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses hexadecimal (either case); nil when the text is not hex.
    public init?(hexString: String) {
        let chars = Array(hexString.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = Data(capacity: chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = Data.nibble(chars[i]), let lo = Data.nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        self = out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
}
