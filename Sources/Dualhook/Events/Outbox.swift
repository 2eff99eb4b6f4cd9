import Foundation
import Postgres

/// Lifecycle events are written here in the transaction that causes them; delivery reads
/// this table later, so an event exists exactly when its cause committed.
enum Outbox {
    @discardableResult
    static func emit(type: String, accountID: String, dataJSON: String, on connection: Connection) throws -> String {
        let id = Identifiers.make("evt")
        try connection.query("INSERT INTO events (id, account_id, type, data) VALUES ($1, $2, $3, $4::jsonb)",
                             [id, accountID, type, PostgresRawJSON(dataJSON)])
        return id
    }
}
