import Crypto
import Foundation
import HTTPServer
import JSON
import Postgres

/// `Idempotency-Key` on POSTs: the first response is stored in the request's own transaction
/// and replayed byte for byte for an hour; the same key with another body is refused, and a
/// key whose first request is still running answers 409.
enum Idempotency {
    static let window: TimeInterval = 3600

    enum Claim {
        /// First use: run the request, then `store` its answer in the same transaction.
        case proceed(IdempotencyTicket)
        case replay(Response)
    }

    /// The request as parsed JSON in canonical form (`CanonicalJSON`), so a client that
    /// serialises its retry differently still sends the same request. A body that is not JSON
    /// is taken as its bytes.
    static func requestHash(_ request: Request) -> Data {
        Digest.sha256(Data("\(request.method) \(request.path)\n".utf8) + (CanonicalJSON.canonical(request.body) ?? request.body))
    }

    /// How replies stored before `CanonicalJSON` were keyed: Foundation's parse written again
    /// with sorted keys (a body with a run of more than 15 digits as its bytes). Computed only
    /// when a stored hash matches neither of the others, for answers stored within the window
    /// before the change.
    static func foundationHash(_ request: Request) -> Data {
        var body = request.body
        var run = 0
        for byte in body {
            run = (48...57).contains(byte) ? run + 1 : 0
            if run > 15 { break }
        }
        if run <= 15, !body.isEmpty, let value = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]),
           let text = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]) {
            body = text
        }
        return Digest.sha256(Data("\(request.method) \(request.path)\n".utf8) + body)
    }

    /// How replies stored before requests were compared as parsed JSON were keyed.
    static func rawHash(_ request: Request) -> Data {
        Digest.sha256(Data("\(request.method) \(request.path)\n".utf8) + request.body)
    }

    /// Claims the key inside the request's own transaction, so the request has one durable
    /// commit. A transaction-scoped advisory lock on (account, key), taken without waiting, is
    /// the reservation: while another request with the key runs (in any front process) this one
    /// answers 409 at once; a stored answer is replayed; an expired one is forgotten.
    static func claim(key: String, accountID: String, request: Request, vault: Vault, on connection: Connection) throws -> Claim {
        try validate(key)
        let hash = requestHash(request)
        let ticket = IdempotencyTicket(key: key, accountID: accountID, requestHash: hash)
        // The lock first, in a statement of its own: the read after it then takes a snapshot
        // from after the lock, so it sees the answer of a request that finished just before.
        // Both go in one round trip (with the transaction's BEGIN); the read's rows count only
        // when the lock was taken.
        let answers = try connection.pipeline([
            "SELECT pg_try_advisory_xact_lock(hashtextextended('idempotency:' || \(accountID) || ':' || \(key), 0))",
            """
            SELECT true, request_hash, state, response_status, response_body, created_at < now() - make_interval(secs => \(window))
            FROM idempotency_keys WHERE account_id = \(accountID) AND key = \(key)
            """,
        ])
        guard try answers[0].scalar(Bool.self) == true else { throw APIError.idempotencyKeyInUse }
        guard let row = answers[1].first else { return .proceed(ticket) }
        if try row.decode(Bool.self, at: 5) {
            try connection.query("DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2", [accountID, key])
            return .proceed(ticket)
        }
        let stored = Stored(requestHash: try row.decode(at: 1), state: try row.decode(at: 2), status: try row.decode(at: 3),
                            sealedBody: try row.decode(at: 4))
        return .replay(try replay(stored, key: key, accountID: accountID, request: request, vault: vault))
    }

    /// A key as a client may send it: 1 to 255 characters.
    static func validate(_ key: String) throws {
        guard !key.isEmpty, key.count <= 255 else {
            throw APIError.validationFailed(param: "Idempotency-Key", "Idempotency-Key must be 1 to 255 characters")
        }
    }

    /// A stored answer, as read after its key's lock was taken.
    struct Stored: Sendable {
        let requestHash: Data
        let state: String
        let status: Int
        let sealedBody: Data
    }

    /// The stored answer replayed, for the request it was stored for: a different request with
    /// the key is refused (422).
    static func replay(_ stored: Stored, key: String, accountID: String, request: Request, vault: Vault) throws -> Response {
        let storedHash = stored.requestHash
        guard storedHash == requestHash(request) || storedHash == rawHash(request) || storedHash == foundationHash(request) else {
            throw APIError.idempotencyKeyReused
        }
        // A `running` row can only be one written before reservations became locks.
        guard stored.state == "done" else { throw APIError.idempotencyKeyInUse }
        let body = try vault.open(String(decoding: stored.sealedBody, as: UTF8.self), associatedData: associatedData(accountID: accountID, key: key))
        var response = Response(status: stored.status, body: body)
        response.setHeader("Content-Type", "application/json")
        response.setHeader("Idempotent-Replayed", "true")
        return response
    }

    /// The answer sealed for storing under its key: replies can hold secrets.
    static func sealed(_ body: Data, accountID: String, key: String, vault: Vault) throws -> Data {
        Data(try vault.seal(body, associatedData: associatedData(accountID: accountID, key: key)).utf8)
    }

    /// Stored replies can hold secrets (an onboarding URL carries its token), so they are
    /// sealed, bound to their account and key.
    static func associatedData(accountID: String, key: String) -> String { "idempotency:\(accountID):\(key)" }

    /// Stores the first answer for the key, in the request's transaction.
    static func store(_ response: Response, ticket: IdempotencyTicket, vault: Vault, on connection: Connection) throws {
        let sealed = try sealed(response.body, accountID: ticket.accountID, key: ticket.key, vault: vault)
        // Sent with the COMMIT, in its round trip.
        try connection.beforeCommit("""
            INSERT INTO idempotency_keys (account_id, key, request_hash, state, response_status, response_body)
            VALUES (\(ticket.accountID), \(ticket.key), \(ticket.requestHash), 'done', \(response.status), \(sealed))
            """)
    }
}

/// A claimed Idempotency-Key.
struct IdempotencyTicket: Sendable {
    let key: String
    let accountID: String
    let requestHash: Data
}
