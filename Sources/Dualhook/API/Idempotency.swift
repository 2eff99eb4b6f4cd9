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
    static func requestHash(_ request: Request, document: JSONDocument? = nil) -> Data {
        let canonical = (document ?? JSONDocument(utf8: request.body)).map { CanonicalJSON.canonical($0.root, in: $0.bytes) }
        return Digest.sha256(Data("\(request.method) \(request.path)\n".utf8) + (canonical ?? request.body))
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
        switch try reserve([(accountID, key)], on: connection)[0] {
        case .inUse:
            throw APIError.idempotencyKeyInUse
        case .free:
            return .proceed(ticket)
        case .expired:
            try connection.sql(forgetting([(accountID, key)]))
            return .proceed(ticket)
        case .stored(let stored):
            return .replay(try replay(stored, key: key, accountID: accountID, request: request, vault: vault))
        }
    }

    /// What a key's reservation found.
    enum Reservation {
        /// Another transaction holds the key: its request still runs.
        case inUse
        /// Reserved, with no answer stored under it.
        case free
        /// Reserved; the answer stored under it is older than the window and is to be replaced.
        case expired
        case stored(Stored)
    }

    /// Reserves (account, key) pairs in the open transaction, in one round trip, and reads
    /// what is stored under each: `reserving`, then a read over `reservedAndFound`, whose
    /// snapshot is taken after the locks, so it sees the answer of a request that finished
    /// just before. An advisory lock is re-entrant within a transaction, so a pair named twice
    /// is the caller's to refuse.
    static func reserve(_ pairs: [(accountID: String, key: String)], on connection: Connection) throws -> [Reservation] {
        let answers = try connection.pipeline([
            reserving(pairs),
            """
            WITH items AS (SELECT * FROM unnest(\(pairs.map(\.accountID))::text[], \(pairs.map(\.key))::text[])
                           WITH ORDINALITY AS i(account_id, idem_key, n)),
            \(reservedAndFound(in: "items"))
            SELECT n, request_hash, state, response_status, response_body, expired FROM found
            """,
        ])
        let flags = Array(try answers[0].rows.first?.decode(String.self, at: 0) ?? "")
        var found = pairs.indices.map { flags.indices.contains($0) && flags[$0] == "1" ? Reservation.free : .inUse }
        for row in answers[1].rows {
            // WITH ORDINALITY counts from 1; `found` holds only the keys this transaction took.
            let position = try row.decode(Int.self, at: 0) - 1
            found[position] = try row.decode(Bool.self, at: 5) ? .expired : .stored(Stored(
                requestHash: try row.decode(at: 1), state: try row.decode(at: 2), status: try row.decode(at: 3),
                sealedBody: try row.decode(at: 4)))
        }
        return found
    }

    /// Reserves keys in the open transaction, each with a transaction-scoped advisory lock
    /// taken without waiting (a request without a key has the empty one) and leaves what it found in the transaction's setting
    /// `dualhook.reserved`, one character per request in order: `1` reserved, `0` held by
    /// another transaction, `-` no key. A later statement of the same transaction reads it
    /// there (`SessionBatch.insert`), so the reservation and the writes it allows go to the
    /// server together, in one round trip, and that statement's snapshot is taken after the
    /// locks: it sees the answer of a request that finished just before.
    static func reserving(_ pairs: [(accountID: String, key: String)]) -> PostgresQuery {
        """
        SELECT set_config('dualhook.reserved', coalesce(string_agg(
                   CASE WHEN k = '' THEN '-'
                        WHEN pg_try_advisory_xact_lock(hashtextextended('idempotency:' || a || ':' || k, 0)) THEN '1'
                        ELSE '0' END, '' ORDER BY n), ''), true)
        FROM unnest(\(pairs.map(\.accountID))::text[], \(pairs.map(\.key))::text[]) WITH ORDINALITY AS i(a, k, n)
        """
    }

    /// Two CTEs for a statement after `reserving` in its transaction, over the CTE `items`
    /// (columns `n`, its position from 1, `account_id` and `idem_key`, empty for none):
    /// `reserved` (its one column `flags`, as `reserving` left them) and `found`, what is
    /// stored under each reserved key (`n`, `request_hash`, `state`, `response_status`,
    /// `response_body`, `expired`), read with the statement's snapshot, taken after the locks.
    static func reservedAndFound(in items: String) -> PostgresQuery {
        """
        reserved AS (SELECT coalesce(current_setting('dualhook.reserved', true), '') AS flags),
        -- A lookup by key for each (OFFSET 0 keeps it one): as a join, a batch's generic plan
        -- scanned the whole table, 1.8 ms a batch under ops/bench/api.
        found AS (
            SELECT r.n, s.request_hash, s.state, s.response_status, s.response_body, s.expired
            FROM \(unescaped: items) r CROSS JOIN reserved
            CROSS JOIN LATERAL (
                SELECT request_hash, state, response_status, response_body,
                       created_at < now() - make_interval(secs => \(window)) AS expired
                FROM idempotency_keys WHERE account_id = r.account_id AND key = r.idem_key OFFSET 0) s
            WHERE r.idem_key <> '' AND substr(reserved.flags, r.n::int, 1) = '1')
        """
    }

    /// The body of a CTE that stores the answers of the keyed rows of the CTE `items` (columns
    /// `account_id`, `idem_key`, `request_hash`, `answer_status`, `answer_body`), whose keys the
    /// transaction reserved: an expired answer found under a key is replaced.
    static func storingAnswers(of items: String) -> PostgresQuery {
        """
        INSERT INTO idempotency_keys (account_id, key, request_hash, state, response_status, response_body)
        SELECT account_id, idem_key, request_hash, 'done', answer_status, answer_body FROM \(unescaped: items) WHERE idem_key <> ''
        ON CONFLICT (account_id, key) DO UPDATE SET request_hash = excluded.request_hash, state = excluded.state,
            response_status = excluded.response_status, response_body = excluded.response_body, created_at = now()
        """
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
        try connection.beforeCommit(storing([StoredAnswer(ticket: ticket, status: response.status, sealedBody: sealed)]))
    }

    /// An answer to store under its ticket's key, sealed.
    struct StoredAnswer: Sendable {
        let ticket: IdempotencyTicket
        let status: Int
        let sealedBody: Data
    }

    /// Stores answers under their keys (reserved in the same transaction).
    static func storing(_ answers: [StoredAnswer]) -> PostgresQuery {
        """
        INSERT INTO idempotency_keys (account_id, key, request_hash, state, response_status, response_body)
        SELECT a, k, h, 'done', s, b
        FROM unnest(\(answers.map(\.ticket.accountID))::text[], \(answers.map(\.ticket.key))::text[],
                    \(answers.map(\.ticket.requestHash))::bytea[], \(answers.map(\.status))::int[],
                    \(answers.map(\.sealedBody))::bytea[]) AS i(a, k, h, s, b)
        """
    }

    /// Forgets the answers stored under these keys (expired ones, found by `reserve`).
    static func forgetting(_ pairs: [(accountID: String, key: String)]) -> PostgresQuery {
        """
        DELETE FROM idempotency_keys s USING unnest(\(pairs.map(\.accountID))::text[], \(pairs.map(\.key))::text[]) AS i(a, k)
        WHERE s.account_id = i.a AND s.key = i.k
        """
    }
}

/// A claimed Idempotency-Key.
struct IdempotencyTicket: Sendable {
    let key: String
    let accountID: String
    let requestHash: Data
}
