import Foundation

/// The settings of API.md's configuration table that the front needs.
public struct AppConfiguration: Sendable {
    public var databaseURL: String
    public var publicURL: String
    public var allowPrivateTargets: Bool
    public var maxBodyBytes: Int = 1 << 20

    public init(databaseURL: String, publicURL: String, allowPrivateTargets: Bool) {
        self.databaseURL = databaseURL
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.allowPrivateTargets = allowPrivateTargets
    }
}
