import Foundation
import JSON

/// A request body parsed as a JSON object, read field by field so that every problem is
/// reported as a typed error naming the field.
struct JSONObject {
    let fields: [String: Any]
    /// The body as sent, for `object(_:maxBytes:)`.
    let body: Data
    /// The body as `JSONScanner` read it, when the caller read it already.
    let document: JSONDocument?

    /// The deepest nesting Foundation's JSON parser accepts.
    static let maxDepth = 511

    init(body: Data, document: JSONDocument? = nil, allowEmpty: Bool = false) throws {
        self.body = body
        self.document = document
        if body.isEmpty && allowEmpty {
            fields = [:]
            return
        }
        // A body the caller's scanner read already gives its fields from that reading.
        // Foundation's parse of a session request was about 50,000 instructions (callgrind over
        // `serve` under `ops/bench/api`).
        if let document, case .object = document.root.kind, let object = JSONObject.foundationValue(document.root, in: document.bytes) {
            fields = object as! [String: Any]
            return
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        } catch {
            // Foundation's parser stops at 512 levels of nesting; valid JSON deeper than that is
            // refused for its depth, not called malformed.
            if (error as NSError).userInfo[NSDebugDescriptionErrorKey].map({ "\($0)" })?.contains("Too many nested") == true {
                throw APIError.invalidJSON("the request body nests arrays or objects deeper than \(JSONObject.maxDepth) levels")
            }
            throw APIError.invalidJSON("the request body is not valid JSON")
        }
        guard let object = parsed as? [String: Any] else {
            let kind = parsed is NSNull ? "null" : parsed is [Any] ? "an array" : parsed is String ? "a string" : "a number or boolean"
            throw APIError.invalidJSON("the request body is \(kind); it must be a JSON object")
        }
        fields = object
    }

    /// A scanned value as `JSONSerialization` gives it: `String`, `NSNumber` (a boolean as a
    /// C char), `NSNull`, `[Any]`, `[String: Any]`. Nil for a number no double holds (out of
    /// range), which is left to Foundation's parse and its errors.
    static func foundationValue(_ node: JSONNode, in bytes: [UInt8]) -> Any? {
        switch node.kind {
        case .string(let text):
            return text
        case .array(let items):
            var values: [Any] = []
            values.reserveCapacity(items.count)
            for item in items {
                guard let value = foundationValue(item, in: bytes) else { return nil }
                values.append(value)
            }
            return values
        case .object(let members):
            var values: [String: Any] = [:]
            values.reserveCapacity(members.count)
            for (key, member) in members {
                guard let value = foundationValue(member, in: bytes) else { return nil }
                values[key] = value
            }
            return values
        case .scalar:
            let text = bytes[node.range]
            if text.elementsEqual("true".utf8) { return NSNumber(value: true) }
            if text.elementsEqual("false".utf8) { return NSNumber(value: false) }
            if text.elementsEqual("null".utf8) { return NSNull() }
            let string = String(decoding: text, as: UTF8.self)
            let integral = !text.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
            if integral, let int = Int64(string) { return NSNumber(value: int) }
            guard let double = Double(string), double.isFinite else { return nil }
            return NSNumber(value: double)
        }
    }

    /// JSONSerialization yields NSNumber for numbers and booleans alike; a JSON boolean is the
    /// one stored as a C char.
    static func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }

    func rejectUnknown(allowed: Set<String>) throws {
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.validationFailed(param: unknown, "\(unknown) is not a known field")
        }
    }

    func has(_ name: String) -> Bool { fields[name] != nil && !(fields[name] is NSNull) }

    /// The field was sent, `null` included: for PATCH, where `null` clears an optional field.
    func sent(_ name: String) -> Bool { fields[name] != nil }

    func string(_ name: String, required: Bool = false, length: ClosedRange<Int>? = nil) throws -> String? {
        guard let value = fields[name], !(value is NSNull) else {
            if required { throw APIError.validationFailed(param: name, "\(name) is required") }
            return nil
        }
        guard let text = value as? String else { throw APIError.validationFailed(param: name, "\(name) must be a string") }
        try JSONObject.rejectNUL(text, param: name)
        if let length, !length.contains(text.count) {
            throw APIError.validationFailed(param: name, "\(name) must be \(length.lowerBound) to \(length.upperBound) characters")
        }
        return text
    }

    func bool(_ name: String) throws -> Bool? {
        guard let value = fields[name], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, JSONObject.isBoolean(number) else {
            throw APIError.validationFailed(param: name, "\(name) must be true or false")
        }
        return number.boolValue
    }

    func integer(_ name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let value = fields[name], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !JSONObject.isBoolean(number),
              let int = Int(exactly: number.doubleValue) else {
            throw APIError.validationFailed(param: name, "\(name) must be a whole number")
        }
        guard range.contains(int) else {
            throw APIError.validationFailed(param: name, "\(name) must be from \(range.lowerBound) to \(range.upperBound)")
        }
        return int
    }

    func stringArray(_ name: String, maxCount: Int) throws -> [String]? {
        guard let value = fields[name], !(value is NSNull) else { return nil }
        guard let array = value as? [Any], array.count <= maxCount else {
            throw APIError.validationFailed(param: name, "\(name) must be an array of at most \(maxCount) strings")
        }
        return try array.map {
            guard let text = $0 as? String else { throw APIError.validationFailed(param: name, "\(name) must contain strings only") }
            try JSONObject.rejectNUL(text, param: name)
            return text
        }
    }

    /// A nested object as compact JSON text: its `CanonicalJSON` form, read again from the
    /// body's bytes. Written back by `JSONSerialization` instead, a session's `{"plan":"pro"}`
    /// cost about 69,000 instructions (callgrind over `serve` under `ops/bench/api`); that
    /// remains the way for a body `JSONScanner` refuses (a repeated key, nesting past 64).
    func object(_ name: String, maxBytes: Int) throws -> String? {
        guard let value = fields[name], !(value is NSNull) else { return nil }
        let mustBeObject = APIError.validationFailed(param: name, "\(name) must be a JSON object")
        guard value is [String: Any] else { throw mustBeObject }
        let canonical = canonicalMember(name)
        guard let data = canonical ?? (try? JSONSerialization.data(withJSONObject: value, options: [.withoutEscapingSlashes])) else {
            throw mustBeObject
        }
        // The limit counts the object as Foundation's writer sizes it, as it did before the
        // canonical form was stored.
        guard (canonical.map(CanonicalJSON.sizeWithShortEscapes) ?? data.count) <= maxBytes else {
            throw APIError.validationFailed(param: name, "\(name) must be at most \(maxBytes) bytes of JSON")
        }
        try JSONObject.rejectNUL(in: value, param: name)
        return String(decoding: data, as: UTF8.self)
    }

    /// The canonical form of the top-level member `name` when it is an object, or nil when the
    /// body is not UTF-8 or not one `JSONScanner` reads.
    func canonicalMember(_ name: String) -> Data? {
        guard let document = document ?? JSONDocument(utf8: body), let node = document.member(name),
              case .object = node.kind else { return nil }
        return CanonicalJSON.canonical(node, in: document.bytes)
    }

    /// Postgres keeps no NUL character in text or jsonb: refused here, naming the field,
    /// rather than failing in the database.
    static func rejectNUL(_ text: String, param: String) throws {
        if text.unicodeScalars.contains("\u{0}") {
            throw APIError.validationFailed(param: param, "\(param) must not contain the NUL character (U+0000)")
        }
    }

    static func rejectNUL(in value: Any, param: String) throws {
        switch value {
        case let text as String: try rejectNUL(text, param: param)
        case let array as [Any]: for item in array { try rejectNUL(in: item, param: param) }
        case let object as [String: Any]:
            for (key, item) in object {
                try rejectNUL(key, param: param)
                try rejectNUL(in: item, param: param)
            }
        default: break
        }
    }
}
