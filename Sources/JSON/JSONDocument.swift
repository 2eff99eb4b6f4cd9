import Foundation

/// A body read once by `JSONScanner`, for the readers of one request that each need part of
/// it (the canonical form for an Idempotency-Key, a nested object to store).
public struct JSONDocument: Sendable {
    public let bytes: [UInt8]
    public let root: JSONNode

    /// Nil when `data` is not UTF-8 or not one JSON value the scanner accepts.
    public init?(utf8 data: Data) {
        guard String(validating: data, as: UTF8.self) != nil else { return nil }
        var scanner = JSONScanner(bytes: [UInt8](data))
        guard let root = try? scanner.document() else { return nil }
        self.bytes = scanner.bytes
        self.root = root
    }

    /// The value of the root object's member `name`.
    public func member(_ name: String) -> JSONNode? {
        guard case .object(let members) = root.kind else { return nil }
        return members.first(where: { $0.key == name })?.value
    }
}
