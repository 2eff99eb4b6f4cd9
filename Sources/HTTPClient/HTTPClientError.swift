/// Why an outbound call did not get an answer. Descriptions name the host at most, never a
/// query string, header or body (they can carry tokens).
public enum HTTPClientError: Error, Equatable, CustomStringConvertible {
    case invalidURL
    case schemeNotAllowed(String)
    case resolution(String)
    case blockedAddress(host: String)
    case timedOut
    case transport(String)

    public var description: String {
        switch self {
        case .invalidURL: "the URL is not a valid absolute http(s) URL"
        case .schemeNotAllowed(let scheme): "\(scheme) URLs are not allowed (https only)"
        case .resolution(let host): "cannot resolve \(host)"
        case .blockedAddress(let host): "\(host) resolves to a private, loopback, link-local or reserved address"
        case .timedOut: "no answer before the deadline"
        case .transport(let message): "transport error: \(message)"
        }
    }
}
