import Crypto
import Foundation
import HTTPServer
import Postgres

/// `Idempotency-Key` on POSTs: the first response is stored in the request's own transaction
/// and replayed byte for byte for an hour; the same key with another body is refused, and a
/// key whose first request is still running answers 409.
enum Idempotency {
    static let window: TimeInterval = 3600

    enum Claim {
        /// First use: run the request, then `store` its answer in the same transaction.
        case proceed
        case replay(Response)
    }

    static func requestHash(_ request: Request) -> Data {
        Digest.sha256(Data("\(request.method) \(request.path)\n".utf8) + request.body)
    }

    /// Reserves the key in its own short transaction, so a concurrent request with the same
    /// key sees it at once.
    static func claim(key: String, accountID: String, request: Request, vault: Vault, on connection: Connection) throws -> Claim {
        guard !key.isEmpty, key.count <= 255 else {
            throw APIError.validationFailed(param: "Idempotency-Key", "Idempotency-Key must be 1 to 255 characters")
        }
        let hash = requestHash(request)
        for _ in 0..<3 {
            // Read first, insert only when there is no row: an insert that met a row whose
            // first request is still writing its reply would wait for that request instead of
            // answering 409 at once.
            let row = try connection.query("""
                WITH existing AS (
                    SELECT request_hash, state, response_status, response_body,
                           created_at < now() - make_interval(secs => $4) AS expired
                    FROM idempotency_keys WHERE account_id = $1 AND key = $2),
                inserted AS (
                    INSERT INTO idempotency_keys (account_id, key, request_hash, state)
                    SELECT $1, $2, $3, 'running' WHERE NOT EXISTS (SELECT 1 FROM existing)
                    ON CONFLICT (account_id, key) DO NOTHING
                    RETURNING 1)
                SELECT (SELECT count(*) FROM inserted) > 0, e.request_hash, e.state, e.response_status, e.response_body, e.expired
                FROM (SELECT 1) AS one LEFT JOIN existing AS e ON true
                """, [accountID, key, hash, window])[0]
            if try row.decode(Bool.self, at: 0) { return .proceed }
            guard let storedHash = try row.decode(Data?.self, at: 1) else { continue }  // raced with another insert
            if try row.decode(Bool.self, at: 5) {
                try connection.query("DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2", [accountID, key])
                continue
            }
            guard storedHash == hash else { throw APIError.idempotencyKeyReused }
            guard try row.decode(String.self, at: 2) == "done" else { throw APIError.idempotencyKeyInUse }
            let sealed = String(decoding: try row.decode(Data.self, at: 4), as: UTF8.self)
            let body = try vault.open(sealed, associatedData: associatedData(accountID: accountID, key: key))
            var response = Response(status: try row.decode(Int.self, at: 3), body: body)
            response.setHeader("Content-Type", "application/json")
            response.setHeader("Idempotent-Replayed", "true")
            return .replay(response)
        }
        throw APIError.idempotencyKeyInUse
    }

    /// Stored replies can hold secrets (an onboarding URL carries its token), so they are
    /// sealed, bound to their account and key.
    static func associatedData(accountID: String, key: String) -> String { "idempotency:\(accountID):\(key)" }

    static func store(_ response: Response, key: String, accountID: String, vault: Vault, on connection: Connection) throws {
        let sealed = try vault.seal(response.body, associatedData: associatedData(accountID: accountID, key: key))
        try connection.query("""
            UPDATE idempotency_keys SET state = 'done', response_status = $3, response_body = $4
            WHERE account_id = $1 AND key = $2
            """, [accountID, key, response.status, Data(sealed.utf8)])
    }

    /// The store as an `UPDATE` to fold into a single-statement route's own statement, with its
    /// parameters numbered from `n`; without a ticket it matches no row.
    static func storeFragment(_ response: Response, ticket: IdempotencyTicket?, vault: Vault,
                              firstParameter n: Int) throws -> (sql: String, parameters: [(any PostgresEncodable)?]) {
        let sealed = try ticket.map {
            Data(try vault.seal(response.body, associatedData: associatedData(accountID: $0.accountID, key: $0.key)).utf8)
        } ?? Data()
        return ("""
            UPDATE idempotency_keys SET state = 'done', response_status = $\(n), response_body = $\(n + 1)
            WHERE account_id = $\(n + 2) AND key = $\(n + 3)
            """, [response.status, sealed, ticket?.accountID ?? "", ticket?.key ?? ""])
    }

    /// A request that failed before answering frees its key for a retry.
    static func release(key: String, accountID: String, on connection: Connection) {
        _ = try? connection.query("DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND state = 'running'",
                                  [accountID, key])
    }
}
