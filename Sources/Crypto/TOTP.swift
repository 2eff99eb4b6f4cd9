import CCrypto
import Foundation

/// Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, 30-second steps,
/// 6 digits — what authenticator apps use by default. Secrets are 20 random bytes, shown to
/// the user in base32 (RFC 4648) inside an `otpauth://` URI.
public enum TOTP {
    public static let step: TimeInterval = 30
    public static let digits = 6

    public static func newSecret() -> Data { SecureRandom.bytes(20) }

    /// The code for the step containing `time`.
    public static func code(secret: Data, time: Date, digits: Int = TOTP.digits) -> String {
        let counter = UInt64(max(0, time.timeIntervalSince1970) / step)
        return hotp(secret: secret, counter: counter, digits: digits)
    }

    /// True when `code` is this step's, the previous or the next one (clocks drift); returns
    /// the step it matched so a caller can refuse a code used twice.
    public static func verify(_ code: String, secret: Data, time: Date = Date()) -> UInt64? {
        let trimmed = code.filter { !$0.isWhitespace }
        guard trimmed.count == digits, trimmed.allSatisfy(\.isASCII), trimmed.allSatisfy(\.isNumber) else { return nil }
        let now = UInt64(max(0, time.timeIntervalSince1970) / step)
        for counter in [now, now &- 1, now &+ 1] where ConstantTime.equals(Data(hotp(secret: secret, counter: counter, digits: digits).utf8),
                                                                             Data(trimmed.utf8)) {
            return counter
        }
        return nil
    }

    static func hotp(secret: Data, counter: UInt64, digits: Int) -> String {
        var message = Data(count: 8)
        for i in 0..<8 { message[i] = UInt8((counter >> (56 - 8 * UInt64(i))) & 0xff) }
        let mac = Array(Digest.hmacSHA1(key: secret, message: message))
        let offset = Int(mac[19] & 0x0f)
        let value = (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let text = String(value % modulus)
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// RFC 4648 base32 without padding, as authenticator apps read it.
    public static func base32(_ data: Data) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var out = ""
        var buffer: UInt32 = 0
        var bits = 0
        for byte in data {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return out
    }

    /// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…` for an authenticator app.
    public static func uri(secret: Data, account: String, issuer: String) -> String {
        func encode(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~@"))) ?? text
        }
        return "otpauth://totp/\(encode(issuer)):\(encode(account))?secret=\(base32(secret))&issuer=\(encode(issuer))&digits=\(digits)&period=\(Int(step))"
    }
}
