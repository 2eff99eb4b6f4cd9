import Foundation

/// Meta's webhook verification: a GET to the callback with `hub.mode=subscribe`,
/// `hub.verify_token` and `hub.challenge`, answered with 200 and the challenge as the body
/// (https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests).
/// The webhook check makes the same request before Meta does, so a refusal is known early.
public enum VerificationHandshake {
    /// The callback URL with the three parameters added, keeping any query it already has.
    public static func url(callback: String, verifyToken: String, challenge: String) -> String {
        guard var components = URLComponents(string: callback) else { return callback }
        let items = (components.queryItems ?? []) + [
            URLQueryItem(name: "hub.mode", value: "subscribe"), URLQueryItem(name: "hub.verify_token", value: verifyToken),
            URLQueryItem(name: "hub.challenge", value: challenge),
        ]
        components.queryItems = items
        // URLComponents leaves `+` as is, which receivers read as a space.
        let encoded = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        components.percentEncodedQuery = encoded
        return components.string ?? callback
    }

    /// Whether an answer passes: 200 with exactly the challenge (surrounding white space aside).
    public static func passes(status: Int, body: Data, challenge: String) -> Bool {
        status == 200 && String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == challenge
    }
}
