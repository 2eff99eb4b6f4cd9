import Crypto
import Foundation
import JSON
import JobQueue
import Postgres

/// The `event_deliveries` and `event_attempts` tables: one delivery per (event, endpoint), and
/// the only code that moves a delivery between `pending`, `delivered`, `failed` and `held`. The
/// event's summary follows by the table's triggers (sql/036_event_attempts_outlive_endpoints.sql
/// for inserted and deleted deliveries, sql/029_event_next_attempt.sql for updates).
struct DeliveryStore {
    let database: JobDatabase
    let vault: Vault
    /// Secrets opened by earlier deliveries of this worker.
    var openedSecrets: OpenedSecrets?

    enum Status: String {
        case pending, delivered, failed
        /// Kept for a disabled endpoint; sent when it is enabled again.
        case held
    }

    /// What a delivery job found when it took its slot.
    enum Slot: String {
        case ok
        /// The account's deliveries in flight (all worker processes) are at the limit, or this
        /// endpoint holds all of them it may.
        case slots
        /// The endpoint started its `rateLimitPerSecond` deliveries this second.
        case rate
        /// No slot asked: the delivery is not to be sent now.
        case none
        /// A redelivery whose delivery job is still running (or its end not yet written): it
        /// goes out after that one, not beside it.
        case busy
    }

    struct Delivery {
        let eventID: String
        let accountID: String
        let endpointID: String
        let body: Data
        let type: String
        let url: String
        let secrets: [String]
        let endpointEnabled: Bool
        /// The endpoint's health as this delivery began, so a steady state is not rewritten.
        let endpointFailing: Bool
        let endpointStale: Bool
        let slot: Slot
    }

    /// What a delivery job asks `load` for; `loadAll` reads a batch of them as JSON.
    struct LoadRequest: Sendable {
        let eventID: String
        /// Nil: the account's default endpoint (a job queued before endpoints existed).
        let endpointID: String?
        let job: Int64
        /// The holder of a slot this process kept for the endpoint (`HeldSlots`), which the
        /// delivery reuses: nil, a slot is taken for `job`.
        let holder: Int64?
        /// The kept slot's lease no longer covers the delivery: the take runs to renew it.
        let renew: Bool
        let slotsPerAccount: Int
        /// Seconds the slot is held unless given back first.
        let lease: TimeInterval
        let sendAnyway: Bool
    }

    /// One row `loadAll` read: a `Delivery` before its body is written and its secrets opened.
    struct Loaded: Sendable {
        let accountID: String
        let type: String
        let data: String
        let createdAt: String
        let endpointID: String
        let url: String
        let endpointEnabled: Bool
        /// The valid secrets, still sealed, as a text array.
        let secrets: String
        let endpointFailing: Bool
        let endpointStale: Bool
        let slot: Slot
        let isDefault: Bool
    }

    /// The event, its delivery to the endpoint (the account's default when `endpointID` is nil:
    /// a job queued before endpoints existed) and a slot for it when it is to be sent: nil when
    /// the event or the delivery no longer exists. The loads of jobs starting together are read
    /// in one statement (`loader`, a `CommitBatcher`).
    func load(_ request: LoadRequest, loader: CommitBatcher<LoadRequest, Loaded?>) throws -> Delivery? {
        let found = try loader.submit([request], lend: lendForBatch)
        guard let row = found.first ?? nil else { return nil }
        do {
            return try delivery(row, eventID: request.eventID)
        } catch {
            // A slot taken for a delivery that cannot be read (a secret that does not open) is
            // given back now, not held until its lease ends.
            try? releaseSlot(holder: request.holder ?? request.job, account: row.accountID)
            throw error
        }
    }

    /// One statement for the loads of several jobs, answering in their order; it ends the
    /// transaction it is given (`CommitBatcher` runs it in one). The slots are taken in the
    /// order of the accounts' advisory lock keys (the rows sorted before `event_slot_take` runs
    /// on them), so two batches take the locks they share in the same order.
    ///
    /// One statement per job cost its planning, its executor start and its round trip for each
    /// delivery, as much as the slot take inside it.
    @Sendable static func loadAll(_ requests: [LoadRequest], on connection: Connection) throws -> [Loaded?] {
        let eventIDs = requests.map(\.eventID)
        // Sent with the batch's BEGIN and COMMIT: one round trip.
        let rows = try connection.commit(with: [.genericPlans, """
            SELECT f.n, f.account_id, f.type, f.data, f.created, f.endpoint_id, f.url, f.status = 'enabled', f.secrets,
                   f.failing, f.stale,
                   CASE WHEN f.again AND job_live(ARRAY['deliver:' || f.event_id || ':' || f.endpoint_id]) THEN 'busy'
                        WHEN f.status <> 'enabled' OR NOT (f.delivery_status = 'pending' OR f.again) THEN 'none'
                        -- A kept slot that is the endpoint's alone: no sibling for the take to
                        -- keep a slot free for, no rate to count (HeldSlots).
                        WHEN f.holder IS NOT NULL AND NOT f.renew AND f.rate_limit_per_second IS NULL
                             AND NOT EXISTS (SELECT 1 FROM event_endpoints q
                                             WHERE q.account_id = f.account_id AND q.id <> f.endpoint_id AND q.status = 'enabled')
                             -- Still its row: the worker's count of the lease is not taken on trust.
                             AND EXISTS (SELECT 1 FROM event_slots s
                                         WHERE s.account_id = f.account_id AND s.job_id = f.holder AND s.held_until > now())
                        THEN 'ok'
                        -- Under its holder's id the take keeps a kept slot or gives it back.
                        ELSE event_slot_take(COALESCE(f.holder, f.job), f.account_id, f.endpoint_id, f.slots, f.lease,
                                             f.rate_limit_per_second) END,
                   f.is_default
            FROM (
                SELECT i.n, i.job, i.holder, i.renew, i.slots, i.lease, i.again, e.id AS event_id, e.account_id, e.type, e.data::text AS data,
                       to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created,
                       p.id AS endpoint_id, p.url, p.status, \(unescaped: SigningSecrets.validSQL(endpoint: "p")) AS secrets,
                       p.failing_since IS NOT NULL AS failing,
                       -- Written every few seconds while its state holds, and at once when a
                       -- success is news: an endpoint not failing whose health was last written
                       -- after its last success (made or enabled since) or that never had one.
                       p.health_updated_at < now() - interval '5 seconds'
                           OR (p.failing_since IS NULL AND (p.last_success_at IS NULL OR p.last_success_at < p.health_updated_at)) AS stale,
                       p.rate_limit_per_second, p.is_default, d.status AS delivery_status
                FROM ROWS FROM (jsonb_to_recordset(\(LoadRequest.json(requests))::jsonb) AS (
                         "eventID" text, "endpointID" text, job bigint, holder bigint, renew boolean, "slotsPerAccount" int, lease float8,
                         "sendAnyway" boolean))
                     WITH ORDINALITY AS i(event_id, endpoint_id, job, holder, renew, slots, lease, again, n)
                JOIN events e ON e.id = i.event_id
                JOIN event_endpoints p ON p.id = COALESCE(i.endpoint_id,
                    (SELECT q.id FROM event_endpoints q WHERE q.account_id = e.account_id AND q.is_default))
                -- The endpoint's match is a join filter (IS TRUE is no index condition), so the
                -- delivery is found by the primary key's event_id alone (an event has one delivery
                -- per endpoint). Written as an index condition, a generic plan made before
                -- event_deliveries was analysed read it through event_deliveries_endpoint
                -- (endpoint_id, status, event_created_at, event_id): every pending delivery of the
                -- endpoint, compared by event_id, for each row (auto_explain in ops/bench/events:
                -- 13 buffers a row, a third of Postgres' time per delivery).
                JOIN event_deliveries d ON d.event_id = e.id AND (d.endpoint_id = p.id) IS TRUE
                -- The arrays let a generic plan find the rows by key whatever the statistics: over
                -- the function's rows alone (estimated at 100), a plan made with 10,500 deliveries
                -- stored hashed a scan of the whole of event_deliveries for a batch of four.
                WHERE e.id = ANY(\(eventIDs)::text[]) AND d.event_id = ANY(\(eventIDs)::text[])
                -- Sorted here and kept apart (OFFSET 0), so the slot takes above run in this
                -- order: by the key of the account's advisory lock first (two accounts may share it).
                ORDER BY hashtext(e.account_id), e.account_id, i.n
                OFFSET 0) f
            """])[1].rows
        var found = [Loaded?](repeating: nil, count: requests.count)
        for row in rows {
            // WITH ORDINALITY counts from 1.
            found[try row.decode(Int.self, at: 0) - 1] = Loaded(
                accountID: try row.decode(at: 1), type: try row.decode(at: 2), data: try row.decode(at: 3),
                createdAt: try row.decode(at: 4), endpointID: try row.decode(at: 5), url: try row.decode(at: 6),
                endpointEnabled: try row.decode(at: 7), secrets: try row.decode(at: 8), endpointFailing: try row.decode(at: 9),
                endpointStale: try row.decode(at: 10), slot: Slot(rawValue: try row.decode(at: 11)) ?? .none,
                isDefault: try row.decode(at: 12))
        }
        return found
    }

    /// The loads of a batch of jobs (`DeliverEvent.performBatch`), read in one statement with
    /// whatever other batches start at once; one result per request, in order. A read that
    /// failed for a reason `retryAlone` says a retry cures is read again request by request.
    func load(_ requests: [LoadRequest], loader: CommitBatcher<LoadRequest, Loaded?>,
              retryAlone: (any Error) -> Bool) -> [Result<Delivery?, any Error>] {
        let rows: [Loaded?]
        do {
            rows = try loader.submit(requests, lend: lendForBatch)
        } catch where requests.count > 1 && retryAlone(error) {
            return requests.map { request in Result { try load(request, loader: loader) } }
        } catch {
            return requests.map { _ in .failure(error) }
        }
        return zip(requests, rows).map { request, row in
            Result {
                guard let row else { return nil }
                do {
                    return try delivery(row, eventID: request.eventID)
                } catch {
                    try? releaseSlot(holder: request.holder ?? request.job, account: row.accountID)
                    throw error
                }
            }
        }
    }

    private func delivery(_ row: Loaded, eventID: String) throws -> Delivery {
        let owner: SigningSecrets.Owner = row.isDefault ? .account(row.accountID) : .endpoint(row.endpointID)
        let secrets = row.slot == .ok ? try SigningSecrets.openAll(row.secrets, owner: owner, vault: vault, cache: openedSecrets) : []
        return Delivery(eventID: eventID, accountID: row.accountID, endpointID: row.endpointID,
                        body: DeliveryStore.body(eventID: eventID, type: row.type, createdAt: row.createdAt, data: row.data),
                        type: row.type, url: row.url, secrets: secrets, endpointEnabled: row.endpointEnabled,
                        endpointFailing: row.endpointFailing, endpointStale: row.endpointStale, slot: row.slot)
    }

    /// `{"id":…,"type":…,"createdAt":…,"data":…}`, appended as bytes into one buffer: the
    /// `data` column is already JSON text (`jsonb` written out by Postgres) and `createdAt`
    /// is `to_char`'s fixed form, which needs no escape.
    static func body(eventID: String, type: String, createdAt: String, data: String) -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(eventID.utf8.count + type.utf8.count + createdAt.utf8.count + data.utf8.count + 48)
        out.append(contentsOf: #"{"id":"#.utf8)
        CanonicalJSON.append(quoted: eventID, to: &out)
        out.append(contentsOf: #","type":"#.utf8)
        CanonicalJSON.append(quoted: type, to: &out)
        out.append(contentsOf: #","createdAt":""#.utf8)
        out.append(contentsOf: createdAt.utf8)
        out.append(contentsOf: #"","data":"#.utf8)
        out.append(contentsOf: data.utf8)
        out.append(UInt8(ascii: "}"))
        return Data(out)
    }

    /// Gives back a slot taken by `load` whose delivery was not sent.
    func releaseSlot(holder: Int64, account: String) throws {
        try DeliveryStore.release(holders: [holder], accounts: [account], database: database)
    }

    /// Gives back slots by their holders, on a connection of `database` under the batches' own
    /// timeout (the slots a worker kept may outlive the job that lends the connection).
    static func release(holders: [Int64], accounts: [String], database: JobDatabase) throws {
        try database.withConnection(statementTimeout: batchTimeout) { connection in
            try connection.sql(releasing(accounts: Array(Set(accounts)), jobs: holders))
        }
    }

    struct Attempt {
        let at: Date
        let statusCode: Int?
        let durationMs: Double
        let error: String?
        let responseBody: String?
        var delivered: Bool { error == nil }
    }

    /// One attempt as `recordAll` writes it.
    struct Recorded: Sendable {
        let eventId: String
        /// Whose slot the job gives back.
        let accountId: String
        let endpointId: String
        /// Seconds since 1970 (a double keeps the microseconds `timestamptz` holds).
        let attemptedAt: Double
        let url: String
        let statusCode: Int?
        let durationMs: Double
        let error: String?
        let responseBody: String?
        let status: String
        let nextAttemptAt: Double?
        /// The holder of the delivery's slot (`event_slots.job_id`).
        let slotHolder: Int64
        /// Kept by this process for the endpoint's next delivery (`HeldSlots`), under its
        /// holder's id negated; otherwise given back.
        let keepSlot: Bool
        /// The endpoint's row is written when its state changes, and every few seconds while it holds.
        let writeEndpoint: Bool
        /// The job's attempt, completed with the write when the attempt delivered
        /// (`JobQueue.completing`): its completion costs no statement or commit of its own.
        var completion: JobCompletion? = nil
    }

    /// The attempt, the delivery's new status, the endpoint's health and the slot given back.
    /// Attempts of several jobs finishing together are written in one transaction
    /// (`recorder`, a `CommitBatcher`); `also` runs after the write in the same transaction
    /// as a batch of its own (a 410 disables the endpoint).
    func record(_ delivery: Delivery, attempt: Attempt, status: Status, nextAttemptAt: Date?, slotHolder: Int64, keepSlot: Bool = false,
                completion: JobCompletion? = nil, recorder: CommitBatcher<Recorded, Void>,
                also: ((Connection) throws -> Void)? = nil) throws {
        let row = recorded(delivery, attempt: attempt, status: status, nextAttemptAt: nextAttemptAt, slotHolder: slotHolder,
                           keepSlot: keepSlot, completion: completion)
        if let also {
            try database.transaction { tx in
                try DeliveryStore.recordAll([row], on: tx)
                try also(tx)
            }
        } else {
            try recorder.submit([row], lend: lendForBatch)
        }
    }

    /// The attempts of a batch of jobs, written in one transaction (with whatever other batches
    /// finish at once); one result per row, in order. A write of several rows that failed for a
    /// reason `recordRetriesAlone` accepts is written again row by row.
    func record(_ rows: [Recorded], recorder: CommitBatcher<Recorded, Void>) -> [Result<Void, any Error>] {
        do {
            try recorder.submit(rows, lend: lendForBatch)
            return rows.map { _ in .success(()) }
        } catch where rows.count > 1 && DeliveryStore.recordRetriesAlone(error) {
            return rows.map { row in Result { try recorder.submit([row], lend: lendForBatch) } }
        } catch {
            return rows.map { _ in .failure(error) }
        }
    }

    /// Whether a failed write of several jobs' attempts is written again job by job (by the
    /// recorder for each batch it joined, and by `record` for each row): for a deadlock or a
    /// connection found broken, which a retry cures, and for an error in a row's own data (SQLSTATE
    /// classes 22 and 23), so that one bad row fails only its job. Not when the COMMIT's outcome is
    /// unknown (an attempt would be written twice), and not for a timeout or an overloaded
    /// database: each row again, one after another, would hold every job of the batch, and its
    /// account's slot, for as many timeouts as it has rows.
    @Sendable static func recordRetriesAlone(_ error: any Error) -> Bool {
        guard let error = error as? PostgresError, !error.commitOutcomeUnknown else { return false }
        return error.isSerializationFailure || error.isConnectivity
            || error.sqlState.map { $0.hasPrefix("22") || $0.hasPrefix("23") } == true
    }

    /// One attempt as `recordAll` writes it.
    func recorded(_ delivery: Delivery, attempt: Attempt, status: Status, nextAttemptAt: Date?, slotHolder: Int64, keepSlot: Bool = false,
                  completion: JobCompletion? = nil) -> Recorded {
        Recorded(eventId: delivery.eventID, accountId: delivery.accountID, endpointId: delivery.endpointID,
                 attemptedAt: attempt.at.timeIntervalSince1970, url: delivery.url, statusCode: attempt.statusCode,
                 durationMs: attempt.durationMs, error: attempt.error, responseBody: attempt.responseBody, status: status.rawValue,
                 nextAttemptAt: nextAttemptAt?.timeIntervalSince1970, slotHolder: slotHolder, keepSlot: keepSlot,
                 // A 410 disables the endpoint in this transaction: its row says why.
                 writeEndpoint: delivery.endpointStale || delivery.endpointFailing == attempt.delivered || status == .held,
                 completion: completion)
    }

    /// How long a batch of reads or attempts may take in the database.
    static let batchTimeout: TimeInterval = 10

    /// A connection for a batch, which may carry other jobs' work: the batch's own timeout, not
    /// what is left of this job's attempt.
    func lendForBatch<T>(_ body: (Connection) throws -> T) throws -> T {
        try database.withConnection(statementTimeout: DeliveryStore.batchTimeout, body)
    }

    /// Writes attempts in one statement (`record`), after locking the endpoints whose health it
    /// writes and then the events whose summary its trigger writes, each in id order: two
    /// batches then wait for each other in the same order, never in a circle.
    ///
    /// The statements run with their generic plans (`PostgresQuery.genericPlans`). Plans made
    /// for each batch's values cost about 0.5 ms of planning per batch, as much as the writes;
    /// the generic ones find every row by key, as the arrays of ids let them. Measured with
    /// `pg_stat_statements` over 10,000 deliveries in `ops/bench/events`: 2.8 ms of planning
    /// and execution per batch of about five attempts before, 1.6 ms after.
    @Sendable static func recordAll(_ rows: [Recorded], on connection: Connection) throws {
        let endpoints = Array(Set(rows.filter(\.writeEndpoint).map(\.endpointId))).sorted()
        let events = Array(Set(rows.map(\.eventId))).sorted()
        let completions = rows.compactMap(\.completion)
        _ = try connection.pipeline([
            .genericPlans,
            "SELECT count(*) FROM (SELECT 1 FROM event_endpoints WHERE id = ANY(\(endpoints)::text[]) ORDER BY id FOR NO KEY UPDATE) AS locked",
            "SELECT count(*) FROM (SELECT 1 FROM events WHERE id = ANY(\(events)::text[]) ORDER BY id FOR NO KEY UPDATE) AS locked",
            """
            WITH input AS (
                SELECT * FROM jsonb_to_recordset(\(Recorded.json(rows))::jsonb) AS i(
                    "eventId" text, "endpointId" text, "attemptedAt" float8, url text, "statusCode" int, "durationMs" float8,
                    error text, "responseBody" text, status text, "nextAttemptAt" float8, "writeEndpoint" boolean)),
            attempt AS (
                INSERT INTO event_attempts (event_id, endpoint_id, attempted_at, url, status_code, duration_ms, error, response_body)
                SELECT "eventId", "endpointId", to_timestamp("attemptedAt"), url, "statusCode", "durationMs", error, "responseBody"
                FROM input),
            delivery AS (
                -- Held meanwhile (the endpoint was disabled during the attempt) stays held unless
                -- this attempt delivered; an attempt never undoes a delivery made after it began.
                UPDATE event_deliveries d SET
                    status = CASE WHEN d.status = 'held' AND i.status <> 'delivered' THEN 'held' ELSE i.status END,
                    attempts = d.attempts + 1,
                    next_attempt_at = CASE WHEN d.status = 'held' AND i.status <> 'delivered' THEN NULL
                                           ELSE to_timestamp(i."nextAttemptAt") END,
                    delivered_at = CASE WHEN i.status = 'delivered' THEN now() ELSE d.delivered_at END, updated_at = now()
                FROM input i
                -- The array lets the plan find the rows by index: over the function's rows alone
                -- it hashed a scan of the whole table, whatever the batch's size.
                WHERE d.event_id = ANY(\(events)::text[])
                  AND d.event_id = i."eventId" AND d.endpoint_id = i."endpointId"
                  AND NOT (d.status = 'delivered' AND d.delivered_at > to_timestamp(i."attemptedAt"))),
            endpoint AS (
                -- An endpoint attempted several times in the batch ends as its attempts would
                -- have left it one after another: failing only if the latest failed (since now
                -- when a success came before it in the batch), its last error the latest one,
                -- and any success counted. Every attempt of an endpoint that is written counts,
                -- also those that were no news on their own (a success after a failure).
                UPDATE event_endpoints p SET
                    failing_since = CASE WHEN i.latest_delivered THEN NULL
                                         WHEN i.any_delivered THEN now() ELSE COALESCE(p.failing_since, now()) END,
                    last_error = COALESCE(i.latest_error, p.last_error),
                    last_success_at = CASE WHEN i.any_delivered THEN now() ELSE p.last_success_at END,
                    warned_days = CASE WHEN i.any_delivered THEN 0 ELSE p.warned_days END,
                    health_updated_at = now()
                FROM (SELECT "endpointId",
                             (array_agg(error IS NULL ORDER BY "attemptedAt" DESC))[1] AS latest_delivered,
                             bool_or(error IS NULL) AS any_delivered,
                             (array_agg(error ORDER BY "attemptedAt" DESC) FILTER (WHERE error IS NOT NULL))[1] AS latest_error
                      FROM input GROUP BY "endpointId" HAVING bool_or("writeEndpoint")) i
                WHERE p.id = i."endpointId"),
            slot AS (\(releasing(accounts: Array(Set(rows.filter { !$0.keepSlot }.map(\.accountId))),
                                  jobs: rows.filter { !$0.keepSlot }.map(\.slotHolder)))),
            kept AS (
                -- A slot kept for the first time passes from its job's id to that id negated
                -- (HeldSlots.Slot.holder); kept again, it is already so.
                UPDATE event_slots SET job_id = -job_id
                WHERE account_id = ANY(\(Array(Set(rows.filter { $0.keepSlot && $0.slotHolder > 0 }.map(\.accountId))))::text[])
                  AND job_id = ANY(\(rows.filter { $0.keepSlot && $0.slotHolder > 0 }.map(\.slotHolder))::bigint[]))
            SELECT 1
            """,
            // Last: the jobs' rows are locked after every other row the batch writes.
        ] + (completions.isEmpty ? [] : [JobQueue.completing(completions)]))
    }

    /// Gives back the slots of these jobs; the accounts lead to their rows by key.
    static func releasing(accounts: [String], jobs: [Int64]) -> PostgresQuery {
        """
        UPDATE event_slots SET job_id = NULL, endpoint_id = NULL, held_until = NULL
        WHERE account_id = ANY(\(accounts)::text[]) AND job_id = ANY(\(jobs)::bigint[])
        """
    }

    /// A delivery found for a disabled endpoint: kept for when it is enabled again (unless it
    /// was enabled meanwhile: the endpoint's row is read in the same statement).
    func markHeld(_ delivery: Delivery) throws {
        try database.withConnection { connection in
            try connection.sql("""
                UPDATE event_deliveries d SET status = 'held', next_attempt_at = NULL, updated_at = now()
                FROM event_endpoints p
                WHERE d.event_id = \(delivery.eventID) AND d.endpoint_id = \(delivery.endpointID) AND d.status = 'pending'
                  AND p.id = d.endpoint_id AND p.status = 'disabled'
                """)
        }
    }

    /// A JSON string (one `JSONEncoder` per string was a visible part of each delivery).
    static func quote(_ text: String) -> String { CanonicalJSON.quoted(text) }
}
