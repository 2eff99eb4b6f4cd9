import Foundation
import JSON

/// A Meta webhook delivery, `{"object","entry":[{"id","time","changes":[{"field","value"}]}]}`
/// (https://developers.facebook.com/docs/graph-api/webhooks/getting-started#event-notifications),
/// read so that each change's `value` is kept as the exact bytes Meta sent: a receiver that
/// verifies, hashes or stores what Meta sent gets it unchanged, whatever Dualhook understood of it.
public struct WebhookEnvelope: Sendable {
    public struct Change: Sendable {
        public let field: String
        /// The bytes of `value` as they stood in the body.
        public let rawValue: Data
        /// `value` in `CanonicalJSON` form, written from this reading: the same change
        /// serialised another way (a redelivery) has the same form.
        public let canonicalValue: Data
    }

    public struct Entry: Sendable {
        /// The entry's `id`: usually the WABA (for some `account_update`s a partner business).
        public let id: String?
        /// Meta's `time` of the entry, in Unix seconds.
        public let time: Int?
        public let changes: [Change]
    }

    public let object: String?
    public let entries: [Entry]

    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads a body; `Malformed` when it is not a JSON object.
    public init(_ body: Data) throws {
        guard String(data: body, encoding: .utf8) != nil else { throw Malformed(description: "the body is not UTF-8") }
        let bytes = [UInt8](body)
        var scanner = JSONScanner(bytes: bytes)
        let root: JSONNode
        do {
            root = try scanner.document()
        } catch let error as JSONScanner.Invalid {
            throw Malformed(description: error.description)
        }
        guard case .object(let members) = root.kind else { throw Malformed(description: "the body is not a JSON object") }
        object = members.first { $0.key == "object" }?.value.string(in: bytes)
        var entries: [Entry] = []
        if case .array(let items)? = members.first(where: { $0.key == "entry" })?.value.kind {
            for item in items {
                guard case .object(let fields) = item.kind else { continue }
                let idNode = fields.first { $0.key == "id" }?.value
                let id = idNode?.string(in: bytes) ?? idNode?.number(in: bytes)
                // Seconds as Meta writes them; anything else (a fraction, out of range) is no time.
                let time = fields.first { $0.key == "time" }?.value.number(in: bytes).flatMap { Int($0) }
                var changes: [Change] = []
                if case .array(let list)? = fields.first(where: { $0.key == "changes" })?.value.kind {
                    for change in list {
                        guard case .object(let parts) = change.kind,
                              let field = parts.first(where: { $0.key == "field" })?.value.string(in: bytes),
                              let value = parts.first(where: { $0.key == "value" })?.value else { continue }
                        changes.append(Change(field: field, rawValue: Data(bytes[value.range]),
                                              canonicalValue: CanonicalJSON.canonical(value, in: bytes)))
                    }
                }
                entries.append(Entry(id: id, time: time, changes: changes))
            }
        }
        self.entries = entries
    }
}
