import Foundation

/// `?limit=` (1–100, default 20) and an opaque `?cursor=` naming the last row seen.
struct Pagination {
    let limit: Int
    let after: (createdAt: Date, id: String)?

    init(query: [String: String]) throws {
        if let text = query["limit"] {
            guard let n = Int(text), (1...100).contains(n) else {
                throw APIError.validationFailed(param: "limit", "limit must be a whole number from 1 to 100")
            }
            limit = n
        } else {
            limit = 20
        }
        if let cursor = query["cursor"] {
            guard let decoded = Pagination.decode(cursor) else {
                throw APIError.validationFailed(param: "cursor", "cursor is not one this API returned")
            }
            after = decoded
        } else {
            after = nil
        }
    }

    static func cursor(createdAt: Date, id: String) -> String {
        let micros = Int64((createdAt.timeIntervalSince1970 * 1_000_000).rounded())
        return Data("\(micros)|\(id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ cursor: String) -> (Date, String)? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "|", maxSplits: 1)
        guard parts.count == 2, let micros = Int64(parts[0]) else { return nil }
        return (Date(timeIntervalSince1970: Double(micros) / 1_000_000), String(parts[1]))
    }
}

struct Page<T: Encodable>: Encodable {
    let data: [T]
    @Nullable var nextCursor: String?
}
