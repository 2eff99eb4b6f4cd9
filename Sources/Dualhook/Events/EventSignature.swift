import Crypto
import Foundation

/// The two signature headers every delivery carries, one signature per valid secret (the new
/// and, for 24 hours after a rotation, the old):
/// - `X-Dualhook-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>[,v1=…]`, keyed
///   with the secret string as given (`whsec_…`);
/// - Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<t>.<body>")>[ v1,…]`,
///   keyed with the base64-decoded part of the secret after `whsec_`.
enum EventSignature {
    static func dualhook(secrets: [String], timestamp: Int, body: Data) -> String {
        let prefix = Array("\(timestamp).".utf8)
        var header = "t=\(timestamp)"
        for secret in secrets {
            header += ",v1="
            header += Digest.hmacSHA256(key: Array(secret.utf8), prefix: prefix, message: body).hexString
        }
        return header
    }

    static func standard(secrets: [String], id: String, timestamp: Int, body: Data) -> String {
        let prefix = Array("\(id).\(timestamp).".utf8)
        var header = ""
        for secret in secrets {
            guard let key = standardKey(secret) else { continue }
            if !header.isEmpty { header += " " }
            header += "v1,"
            header += Digest.hmacSHA256(key: key, prefix: prefix, message: body).base64EncodedString()
        }
        return header
    }

    /// The key of a `whsec_<base64>` secret, or nil for anything else (the loader refuses
    /// those before a delivery is signed).
    static func standardKey(_ secret: String) -> Data? {
        guard secret.hasPrefix("whsec_") else { return nil }
        return Data(base64Encoded: String(secret.dropFirst(6)))
    }
}
