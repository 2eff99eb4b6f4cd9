import Foundation
import JSON

extension DeliverEvent {
    /// A delivery job's arguments, read with `JSONScanner`: `JSONDecoder` took about 25,000
    /// instructions a job, 5 % of the worker's per delivery (callgrind over `dualhook work`
    /// delivering 2,000 events of `ops/bench/events`). Read as `JSONDecoder` reads them:
    /// unknown fields are ignored, a null optional is absent, a wrong type is an error.
    public static func decodeArgs(_ json: Data) throws -> Args {
        var scanner = JSONScanner(bytes: [UInt8](json))
        let root = try scanner.document()
        guard case .object(let members) = root.kind else { throw ArgsError(description: "the arguments are not a JSON object") }
        var eventID, accountID, endpointID: String?
        var again: Bool?
        for (key, value) in members {
            switch key {
            case "eventId": eventID = try string(value, key, in: scanner.bytes)
            case "accountId": accountID = try string(value, key, in: scanner.bytes)
            case "endpointId": endpointID = try string(value, key, in: scanner.bytes)
            case "again": again = try bool(value, key, in: scanner.bytes)
            default: continue
            }
        }
        guard let eventID else { throw ArgsError(description: "eventId is missing") }
        return Args(eventId: eventID, accountId: accountID, endpointId: endpointID, again: again)
    }

    struct ArgsError: Error, CustomStringConvertible {
        let description: String
    }

    private static func isNull(_ node: JSONNode, in bytes: [UInt8]) -> Bool {
        if case .scalar = node.kind { return bytes[node.range].elementsEqual("null".utf8) }
        return false
    }

    private static func string(_ node: JSONNode, _ key: String, in bytes: [UInt8]) throws -> String? {
        if isNull(node, in: bytes) { return nil }
        guard let text = node.string(in: bytes) else { throw ArgsError(description: "\(key) is not a string") }
        return text
    }

    private static func bool(_ node: JSONNode, _ key: String, in bytes: [UInt8]) throws -> Bool? {
        guard case .scalar = node.kind else { throw ArgsError(description: "\(key) is not true or false") }
        let text = bytes[node.range]
        if text.elementsEqual("true".utf8) { return true }
        if text.elementsEqual("false".utf8) { return false }
        if text.elementsEqual("null".utf8) { return nil }
        throw ArgsError(description: "\(key) is not true or false")
    }
}
