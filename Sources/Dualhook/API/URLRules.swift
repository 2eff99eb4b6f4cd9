import Foundation
import HTTPClient

/// Checks for the URLs accounts give us.
enum URLRules {
    /// An absolute http(s) URL with a host, or a validation error naming `param`.
    static func absolute(_ text: String, param: String, maxLength: Int = 2048) throws -> URL {
        guard text.count <= maxLength, let url = URL(string: text), let scheme = url.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty else {
            throw APIError.validationFailed(param: param, "\(param) must be an absolute http(s) URL")
        }
        return url
    }

    /// `scheme://host[:port]` in lower case.
    static func origin(of url: URL) -> String {
        var origin = "\(url.scheme!.lowercased())://\(url.host!.lowercased())"
        if let port = url.port { origin += ":\(port)" }
        return origin
    }

    /// An https URL (http allowed only when private targets are allowed, for development).
    static func outbound(_ text: String, param: String, maxLength: Int, allowPrivate: Bool) throws -> URL {
        guard text.count <= maxLength else {
            throw APIError.validationFailed(param: param, "\(param) must be at most \(maxLength) characters")
        }
        let url = try absolute(text, param: param, maxLength: maxLength)
        // A password in the URL would be stored, listed and shown like any other part of it.
        guard url.user == nil && url.password == nil else {
            throw APIError.validationFailed(param: param,
                "\(param) must not carry a user name or password: it is stored and shown as given (the signature authenticates each request)")
        }
        if !allowPrivate {
            guard url.scheme?.lowercased() == "https" else {
                throw APIError.validationFailed(param: param, "\(param) must use https")
            }
            if let host = AddressPolicy.nonPublicLiteral(host: url.host ?? "") {
                throw APIError.validationFailed(param: param,
                    "\(param) must point at a public address; \(host) is private, loopback, link-local or reserved")
            }
        }
        return url
    }
}
