import JSON
import Postgres

/// The batches' rows as the JSON that `loadAll` and `recordAll` read with `jsonb_to_recordset`,
/// written by `JSONRows`: with `JSONEncoder` they were an eighth of the worker's instructions
/// per delivery. The names are the recordsets' column names.
extension DeliveryStore.LoadRequest {
    static func json(_ requests: [Self]) -> PostgresRawJSON {
        var rows = JSONRows(capacity: 160 * requests.count)
        for request in requests {
            rows.add {
                $0.add("eventID", request.eventID)
                $0.add("endpointID", request.endpointID)
                $0.add("job", request.job)
                $0.add("holder", request.holder)
                $0.add("renew", request.renew)
                $0.add("slotsPerAccount", request.slotsPerAccount)
                $0.add("lease", request.lease)
                $0.add("sendAnyway", request.sendAnyway)
            }
        }
        return PostgresRawJSON(rows.json)
    }
}

extension DeliveryStore.Recorded {
    static func json(_ recorded: [Self]) -> PostgresRawJSON {
        var rows = JSONRows(capacity: 400 * recorded.count)
        for row in recorded {
            rows.add {
                $0.add("eventId", row.eventId)
                $0.add("accountId", row.accountId)
                $0.add("endpointId", row.endpointId)
                $0.add("attemptedAt", row.attemptedAt)
                $0.add("url", row.url)
                $0.add("statusCode", row.statusCode)
                $0.add("durationMs", row.durationMs)
                $0.add("error", row.error)
                $0.add("responseBody", row.responseBody)
                $0.add("status", row.status)
                $0.add("nextAttemptAt", row.nextAttemptAt)
                $0.add("writeEndpoint", row.writeEndpoint)
            }
        }
        return PostgresRawJSON(rows.json)
    }
}
