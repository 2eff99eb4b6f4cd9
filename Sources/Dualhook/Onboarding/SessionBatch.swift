import Foundation
import HTTPServer
import JobQueue
import Postgres

/// Group commit for `POST /api/v1/onboarding/sessions`: the sessions of requests arriving
/// together, their Idempotency-Key reservations and their stored answers, written in one
/// transaction; each request is answered once it committed, and a failed batch is written
/// again request by request (`CommitBatcher`), so a request is still all or nothing. A batch
/// whose connection was lost during its COMMIT may have committed: its requests are answered
/// 503, not written again (a request without a key would make a second session).
///
/// A request's own transaction cost more Postgres time than its rows: pgbench on the
/// `ops/bench/api` database, 32 clients, gave 1,072 transactions/s for one request's SQL
/// (authentication, then the key's lock and read, the session, its job and the stored answer)
/// against 2,345 sessions/s for the same work with the session writes eight to a transaction.
enum SessionBatch {
    /// One request's session, made ready before it joins a batch: its ids, token and answer are
    /// its own.
    struct Pending: Sendable {
        let accountID: String
        let id: String
        let tokenHash: Data
        let sealedVerifyToken: String
        let expiresAt: Date
        let input: SessionRequest
        /// The request's Idempotency-Key and its answer (201, sealed), stored under it.
        var answer: Idempotency.StoredAnswer?
    }

    enum Outcome: Sendable {
        case created
        /// Another request with the key is running (in this batch or elsewhere).
        case keyInUse
        /// The key's stored answer, read after its lock: written by an earlier request.
        case stored(Idempotency.Stored)
    }

    /// Two batches at a time, so one waiting on a row lock (a tenant's row, held by another
    /// transaction) leaves the other to run: a request whose key another request holds is
    /// then still answered 409 at once. The next batch gathers while they run.
    static let recorder = CommitBatcher<Pending, Outcome>(maxItems: 64, concurrency: 2, write: writeAll)

    /// Writes the batch in the transaction it is given, ending it, in one round trip: the
    /// keys' reservations (`Idempotency.reserving`, when a request names a key), then one
    /// statement that reads what is stored under the reserved keys and writes the sessions,
    /// their jobs and their answers for the requests free to go on, then the `COMMIT`. A key
    /// named twice in the batch is the first request's: the later one finds it in use, as it
    /// would in a transaction of its own.
    ///
    /// The reservation used to be a round trip of its own, answered before the writes were
    /// sent: the batch's transaction then sat idle, holding its locks, for a turn of this
    /// thread between the two. Sampling `pg_stat_activity` under `ops/bench/api` found a
    /// quarter of the front's backends' time there.
    @Sendable static func writeAll(_ items: [Pending], on connection: Connection) throws -> [Outcome] {
        var outcomes = [Outcome?](repeating: nil, count: items.count)
        var writing: [Int] = []
        var named = Set<[String]>()
        for (index, item) in items.enumerated() {
            if let ticket = item.answer?.ticket, !named.insert([ticket.accountID, ticket.key]).inserted {
                outcomes[index] = .keyInUse
            } else {
                writing.append(index)
            }
        }
        let batch = writing.map { items[$0] }
        var statements: [PostgresQuery] = [.genericPlans]
        if !named.isEmpty {
            statements.append(Idempotency.reserving(batch.map { ($0.accountID, $0.answer?.ticket.key ?? "") }))
        }
        statements.append(insert(batch))
        let rows = try connection.commit(with: statements).last!.rows
        var created = false
        for row in rows {
            // WITH ORDINALITY counts from 1.
            let index = writing[try row.decode(Int.self, at: 0) - 1]
            switch try row.decode(String.self, at: 1) {
            case "created":
                outcomes[index] = .created
                created = true
            case "stored":
                outcomes[index] = .stored(Idempotency.Stored(requestHash: try row.decode(at: 2), state: try row.decode(at: 3),
                                                             status: try row.decode(at: 4), sealedBody: try row.decode(at: 5)))
            default: outcomes[index] = .keyInUse
            }
        }
        if created { JobQueue.wake(WebhookCheck.queue, after: connection) }
        return try outcomes.map { outcome in
            guard let outcome else { throw PostgresError(.server, "the session batch's statement answered no row for a request") }
            return outcome
        }
    }

    /// One statement for the sessions, their tenants, their webhook-check jobs and the answers
    /// stored under their keys; it answers, for each item in order, its position (from 1) and
    /// `created`, `stored` (with what is stored under its key) or `in_use`.
    ///
    /// An item with a key goes on only if the reservation before it in the transaction took
    /// the key (`Idempotency.reserving`, read back from `dualhook.reserved`) and nothing, or
    /// only an answer older than the window, is stored under it; the expired answer is replaced.
    /// A tenant is inserted with `DO NOTHING` and renamed only when its name changed, so no row
    /// lock serialises a tenant's sessions; named by several sessions at once, it takes the
    /// last name given.
    static func insert(_ items: [Pending]) -> PostgresQuery {
        let job = JobQueue.fragment(WebhookCheck.self, argsExpression: "jsonb_build_object('sessionId', session.id)", from: "session")
        let inputs = items.map(\.input)
        let answers = items.map(\.answer)
        return """
            WITH raw AS (
                SELECT * FROM unnest(\(items.map(\.id))::text[], \(items.map(\.accountID))::text[], \(inputs.map(\.tenantId))::text[],
                                     \(inputs.map { $0.tenantName ?? "" })::text[], \(inputs.map { $0.tenantName != nil })::bool[],
                                     \(items.map(\.tokenHash))::bytea[], \(inputs.map(\.successRedirectUrl))::text[],
                                     \(inputs.map(\.failureRedirectUrl))::text[], \(inputs.map(\.cancelRedirectUrl))::text[],
                                     \(inputs.map(\.webhookOverrideUrl))::text[], \(items.map(\.sealedVerifyToken))::text[],
                                     \(inputs.map(\.metadataJSON))::text[], \(inputs.map(\.coexistence))::bool[],
                                     \(items.map(\.expiresAt))::timestamptz[], \(inputs.map(\.webhookScope.rawValue))::text[],
                                     \(inputs.map { $0.locale ?? "" })::text[], \(inputs.map { $0.locale != nil })::bool[],
                                     \(answers.map { $0?.ticket.key ?? "" })::text[], \(answers.map { $0?.ticket.requestHash ?? Data() })::bytea[],
                                     \(answers.map { $0?.status ?? 0 })::int[], \(answers.map { $0?.sealedBody ?? Data() })::bytea[])
                     WITH ORDINALITY AS i(id, account_id, tenant_id, name, has_name, token_hash, success, failure, cancel,
                                          override, verify_token, metadata, coexistence, expires_at, scope, locale, has_locale,
                                          idem_key, request_hash, answer_status, answer_body, n)),
            \(Idempotency.reservedAndFound(in: "raw")),
            input AS (
                SELECT r.* FROM raw r CROSS JOIN reserved
                WHERE r.idem_key = ''
                   OR (substr(reserved.flags, r.n::int, 1) = '1' AND NOT EXISTS (SELECT 1 FROM found f WHERE f.n = r.n AND NOT f.expired))),
            named AS (
                SELECT account_id, tenant_id, (array_agg(name ORDER BY n DESC) FILTER (WHERE has_name))[1] AS name
                FROM input GROUP BY account_id, tenant_id),
            new_tenant AS (
                INSERT INTO tenants (account_id, tenant_id, name)
                SELECT account_id, tenant_id, name FROM named ORDER BY account_id, tenant_id
                ON CONFLICT (account_id, tenant_id) DO NOTHING),
            -- Renamed rows are locked in key order first, so two batches renaming the same
            -- tenants wait for each other rather than in a circle.
            renaming AS (
                SELECT t.account_id, t.tenant_id, named.name FROM tenants t JOIN named USING (account_id, tenant_id)
                WHERE named.name IS NOT NULL AND t.name IS DISTINCT FROM named.name
                ORDER BY t.account_id, t.tenant_id FOR NO KEY UPDATE OF t),
            renamed AS (
                UPDATE tenants t SET name = renaming.name FROM renaming
                WHERE t.account_id = renaming.account_id AND t.tenant_id = renaming.tenant_id),
            session AS (
                INSERT INTO onboarding_sessions (id, account_id, tenant_id, token_hash, success_redirect_url, failure_redirect_url,
                    cancel_redirect_url, webhook_override_url, webhook_verify_token, metadata, coexistence, expires_at,
                    webhook_scope, locale)
                SELECT id, account_id, tenant_id, token_hash, success, failure, cancel, override, verify_token, metadata::jsonb,
                       coexistence, expires_at, scope, CASE WHEN has_locale THEN locale END
                FROM input ORDER BY n
                RETURNING id),
            job AS (\(job.insert)),
            answer AS (\(Idempotency.storingAnswers(of: "input")))
            SELECT r.n, CASE WHEN EXISTS (SELECT 1 FROM input i WHERE i.n = r.n) THEN 'created'
                             WHEN f.n IS NOT NULL THEN 'stored' ELSE 'in_use' END,
                   f.request_hash, f.state, f.response_status, f.response_body
            FROM raw r LEFT JOIN found f ON f.n = r.n ORDER BY r.n
            """
    }
}
