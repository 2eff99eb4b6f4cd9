import Foundation
import JobQueue
import Postgres

/// Deliveries moved for an endpoint as a whole (held, released, recovered) or for one event
/// (redelivered), and their jobs queued.
extension DeliveryStore {
    /// The delivery job's unique key: one live job per (event, endpoint).
    static func jobKey(eventID: String, endpointID: String) -> String { "deliver:\(eventID):\(endpointID)" }

    /// Queues the delivery's job (or brings its waiting retry forward); `offset` orders deliveries
    /// made due together. While an attempt is running, one more is queued that waits for it to
    /// end (`DeliveryStore.Slot.busy`) and is sent even if that attempt delivered.
    static func schedule(eventID: String, endpointID: String, accountID: String, offset: TimeInterval = 0,
                         on connection: Connection) throws {
        let key = jobKey(eventID: eventID, endpointID: endpointID)
        if try JobQueue.runNow(uniqueKey: key, queue: DeliverEvent.queue, offset: offset, on: connection) { return }
        let args = DeliverEvent.Args(eventId: eventID, accountId: accountID, endpointId: endpointID)
        if try JobQueue.enqueue(DeliverEvent.self, args, options: JobOptions(uniqueKey: key, delay: offset), on: connection) == nil {
            var again = args
            again.again = true
            try JobQueue.enqueue(DeliverEvent.self, again, options: JobOptions(uniqueKey: "re" + key, delay: offset),
                                 on: connection)
        }
    }

    /// Brings an endpoint's deliveries in line with its status, up to `limit` of them, in the
    /// order of their events: a disabled endpoint's pending deliveries (and those that failed
    /// since its failures began) are held; an enabled endpoint's held deliveries are made
    /// pending again and their jobs queued in that order. Answers how many moved. The endpoint's
    /// row is read `FOR SHARE`, so an enable or disable waits for this batch and the next
    /// batch sees it.
    static func sync(endpointID: String, limit: Int, on connection: Connection) throws -> Int {
        guard let endpoint = try connection.sql("""
            SELECT account_id, status, failing_since FROM event_endpoints WHERE id = \(endpointID) FOR SHARE
            """).first else { return 0 }
        let accountID: String = try endpoint.decode(at: 0)
        guard try endpoint.decode(String.self, at: 1) == "enabled" else {
            let failedSince = try endpoint.decode(Date?.self, at: 2) ?? Date.distantFuture
            return try connection.sql("""
                WITH batch AS (
                    SELECT event_id FROM event_deliveries
                    WHERE endpoint_id = \(endpointID)
                      AND (status = 'pending' OR (status = 'failed' AND updated_at >= \(failedSince)))
                    ORDER BY event_id LIMIT \(limit) FOR UPDATE)
                UPDATE event_deliveries d SET status = 'held', next_attempt_at = NULL, updated_at = now()
                FROM batch WHERE d.event_id = batch.event_id AND d.endpoint_id = \(endpointID)
                """).affectedRows
        }
        let rows = try connection.sql("""
            WITH batch AS (
                SELECT event_id FROM event_deliveries WHERE endpoint_id = \(endpointID) AND status = 'held'
                ORDER BY event_created_at, event_id LIMIT \(limit) FOR UPDATE)
            UPDATE event_deliveries d SET status = 'pending', next_attempt_at = now(), updated_at = now()
            FROM batch WHERE d.event_id = batch.event_id AND d.endpoint_id = \(endpointID)
            RETURNING d.event_id, d.event_created_at
            """).rows
        let ordered = try rows.map { (id: try $0.decode(String.self, at: 0), at: try $0.decode(Date.self, at: 1)) }
            .sorted { ($0.at, $0.id) < ($1.at, $1.id) }
        try scheduleInOrder(ordered.map(\.id), endpointID: endpointID, accountID: accountID, on: connection)
        return ordered.count
    }

    /// Jobs made due together, claimed in this order: each a microsecond after the one before
    /// (the claim orders by due time), none ahead of what other accounts already wait for.
    static func scheduleInOrder(_ eventIDs: [String], endpointID: String, accountID: String, on connection: Connection) throws {
        for (index, eventID) in eventIDs.enumerated() {
            try schedule(eventID: eventID, endpointID: endpointID, accountID: accountID, offset: Double(index) / 1_000_000, on: connection)
        }
    }

    /// SQL: endpoint `p` takes event `e` (sql/037_endpoint_takes_function.sql, the rule the
    /// events insert trigger fans events out by).
    static let takes = "event_endpoint_takes(e.type, e.data, p.id, p.event_types, p.tenant_ids)"

    /// The events `recover` covers for an endpoint: the account's, created in [since, until), of
    /// the given types, that the endpoint's filters take. With no types, every type but the
    /// endpoint's own past tests: a recovery is for the events it missed. `onlyUndelivered`
    /// leaves out those already delivered to it (what is left: failed, still retrying, or
    /// never sent to it).
    static func recoverable(endpointID: String, accountID: String, since: Date, until: Date, types: [String],
                            onlyUndelivered: Bool = false) -> PostgresQuery {
        """
        FROM events e JOIN event_endpoints p ON p.id = \(endpointID)
        WHERE e.account_id = \(accountID) AND e.created_at >= \(since) AND e.created_at < \(until)
          AND CASE WHEN cardinality(\(types)::text[]) = 0 THEN e.type <> \(EventType.endpointTest.rawValue)
                   ELSE e.type = ANY (\(types)::text[]) END
          AND \(unescaped: takes)
          AND NOT (\(onlyUndelivered)::bool AND EXISTS (SELECT 1 FROM event_deliveries o
                                                       WHERE o.event_id = e.id AND o.endpoint_id = p.id AND o.status = 'delivered'))
        """
    }

    /// The next `limit` recoverable events after the cursor made pending for the endpoint (a
    /// delivery made where there was none) and queued in order; answers how many and the last
    /// one's cursor.
    static func recover(endpointID: String, accountID: String, since: Date, until: Date, types: [String], onlyUndelivered: Bool = false,
                        after cursor: (Date, String)?, limit: Int, on connection: Connection) throws -> (count: Int, last: (Date, String)?) {
        let after: PostgresQuery = cursor.map { "AND (e.created_at, e.id) > (\($0.0), \($0.1))" } ?? ""
        let rows = try connection.sql("""
            WITH batch AS (
                SELECT e.id, e.created_at
                \(recoverable(endpointID: endpointID, accountID: accountID, since: since, until: until, types: types,
                              onlyUndelivered: onlyUndelivered)) \(after)
                ORDER BY e.created_at, e.id LIMIT \(limit))
            INSERT INTO event_deliveries AS d (event_id, endpoint_id, event_created_at, status, next_attempt_at)
            SELECT id, \(endpointID), created_at, 'pending', now() FROM batch
            ON CONFLICT (event_id, endpoint_id) DO UPDATE SET status = 'pending', next_attempt_at = now(), updated_at = now()
            RETURNING d.event_id, d.event_created_at
            """).rows
        let ordered = try rows.map { (id: try $0.decode(String.self, at: 0), at: try $0.decode(Date.self, at: 1)) }
            .sorted { ($0.at, $0.id) < ($1.at, $1.id) }
        try scheduleInOrder(ordered.map(\.id), endpointID: endpointID, accountID: accountID, on: connection)
        return (ordered.count, ordered.last.map { ($0.at, $0.id) })
    }

    /// Delivers an event again: to one endpoint, or to every enabled endpoint whose filters take
    /// it (a delivery made where there was none). Answers the endpoints it goes to; 404 for an
    /// event or endpoint of another account, 409 for a disabled endpoint, and 409 for one whose
    /// filters do not take the event and that never had it: a tenant filter keeps one tenant's
    /// events away from another's endpoint, a redelivery too.
    static func redeliver(eventID: String, accountID: String, endpointID: String?, on connection: Connection) throws -> [String] {
        guard let created = try connection.sql("SELECT created_at FROM events WHERE id = \(eventID) AND account_id = \(accountID)")
            .scalar(Date.self) else {
            throw APIError.notFound("event \(eventID)")
        }
        let targets: PostgresQuery
        if let endpointID {
            // Its status, and whether its filters take the event or it had it already.
            guard let endpoint = try connection.sql("""
                SELECT p.status, COALESCE((\(unescaped: takes)), false)
                       OR EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = e.id AND d.endpoint_id = p.id)
                FROM event_endpoints p JOIN events e ON e.id = \(eventID)
                WHERE p.id = \(endpointID) AND p.account_id = \(accountID)
                """).first else { throw APIError.notFound("event endpoint \(endpointID)", param: "endpointId") }
            guard try endpoint.decode(String.self, at: 0) == "enabled" else {
                throw APIError(status: 409, code: "conflict", message: "event endpoint \(endpointID) is disabled: enable it first",
                               param: "endpointId")
            }
            guard try endpoint.decode(Bool.self, at: 1) else {
                throw APIError(status: 409, code: "conflict",
                               message: "event endpoint \(endpointID) does not take event \(eventID) (its eventTypes or tenantIds filter it out, or the event is another endpoint's test or about this endpoint)",
                               param: "endpointId")
            }
            targets = "SELECT \(endpointID)::text AS id"
        } else {
            targets = """
                SELECT p.id FROM events e JOIN event_endpoints p ON p.account_id = e.account_id AND p.status = 'enabled'
                WHERE e.id = \(eventID) AND \(unescaped: takes)
                """
        }
        let endpoints = try connection.sql("""
            INSERT INTO event_deliveries AS d (event_id, endpoint_id, event_created_at, status, next_attempt_at)
            SELECT \(eventID), t.id, \(created), 'pending', now() FROM (\(targets)) t
            ON CONFLICT (event_id, endpoint_id) DO UPDATE SET status = 'pending', next_attempt_at = now(), updated_at = now()
            RETURNING d.endpoint_id
            """).rows.map { try $0.decode(String.self, at: 0) }.sorted()
        for endpoint in endpoints {
            try schedule(eventID: eventID, endpointID: endpoint, accountID: accountID, on: connection)
        }
        return endpoints
    }
}
