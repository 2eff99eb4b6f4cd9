import Crypto
import Foundation

/// Public identifiers and secrets: a readable prefix and random base62.
enum Identifiers {
    static func make(_ prefix: String) -> String { prefix + "_" + SecureRandom.base62(24) }
    static func apiKey() -> String { "dh_live_" + SecureRandom.base62(32) }
    static func signingSecret() -> String { "whsec_" + SecureRandom.bytes(32).base64EncodedString() }

    /// 32 random bytes, URL-safe base64 without padding.
    static func onboardingToken() -> String {
        SecureRandom.bytes(32).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
