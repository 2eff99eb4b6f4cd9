import Crypto
import Foundation

/// Public identifiers and secrets: a readable prefix and random base62.
enum Identifiers {
    static func make(_ prefix: String) -> String { prefix + "_" + SecureRandom.base62(24) }
    static func apiKey() -> String { "dh_live_" + SecureRandom.base62(32) }
    static func signingSecret() -> String { "whsec_" + SecureRandom.bytes(32).base64EncodedString() }

    /// 32 random bytes, URL-safe base64 without padding.
    static func onboardingToken() -> String {
        // Mapped byte by byte in an array: Foundation's `replacingOccurrences` was a tenth of a
        // session request's own work, and `Data`'s subscript most of what remained.
        var text = [UInt8](SecureRandom.bytes(32).base64EncodedData())
        text.removeAll { $0 == UInt8(ascii: "=") }
        for index in text.indices {
            if text[index] == UInt8(ascii: "+") { text[index] = UInt8(ascii: "-") }
            if text[index] == UInt8(ascii: "/") { text[index] = UInt8(ascii: "_") }
        }
        return String(decoding: text, as: UTF8.self)
    }
}
