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

    /// A challenge as Meta sends one: "An int you must pass back to us" (the page above; its
    /// sample is 1158201444). Receivers written to Meta's samples read it as a number, so a
    /// check with any other form would refuse endpoints that Meta accepts.
    public static func challenge() -> String {
        String(Int.random(in: 1_000_000_000...Int(Int32.max)))
    }

    /// Whether an answer passes: 200 with the challenge as the whole body. Meta's page asks the
    /// endpoint to "respond with the hub.challenge value" and says no more; the fake Meta reads
    /// that as the value and nothing around it (`FakeMeta+Webhooks`), and this check reads it
    /// the same way, so it never passes an endpoint the fake refuses. Whether Meta itself
    /// forgives white space around the value is not documented.
    public static func passes(status: Int, body: Data, challenge: String) -> Bool {
        status == 200 && body.elementsEqual(challenge.utf8)
    }
}
