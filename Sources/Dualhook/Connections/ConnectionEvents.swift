import Foundation
import Postgres

/// Who a connection event is about; every connection event's `data` carries these, with the
/// session's metadata round-tripped.
struct ConnectionSubject: Sendable {
    let connectionID: String
    let accountID: String
    let tenantID: String
    let sessionID: String?
    let wabaID: String
    let phoneNumberID: String
    let metadataJSON: String?

    /// The columns `init(row:at:)` reads, for `RETURNING` and `SELECT` on `connections c`.
    static let columns = """
        c.id, c.account_id, c.tenant_id, c.session_id, c.waba_id, c.phone_number_id,
        (SELECT s.metadata::text FROM onboarding_sessions s WHERE s.id = c.session_id)
        """
    static let columnCount = 7

    init(row: Row, at offset: Int = 0) throws {
        connectionID = try row.decode(at: offset)
        accountID = try row.decode(at: offset + 1)
        tenantID = try row.decode(at: offset + 2)
        sessionID = try row.decode(at: offset + 3)
        wabaID = try row.decode(at: offset + 4)
        phoneNumberID = try row.decode(at: offset + 5)
        metadataJSON = try row.decode(at: offset + 6)
    }
}

/// An event about one connection: its own fields, next to the subject's.
protocol ConnectionEvent: Encodable {
    static var type: EventType { get }
}

struct ConnectionDisconnected: ConnectionEvent {
    static let type = EventType.connectionDisconnected
    let reason: DisconnectReason
}

struct ConnectionSuspended: ConnectionEvent {
    static let type = EventType.connectionSuspended
    /// Meta's `account_update` event that suspended it (`ACCOUNT_OFFBOARDED`).
    let reason: String
}

struct ConnectionResumed: ConnectionEvent {
    static let type = EventType.connectionResumed
    let reason: String
}

struct ConnectionModeResolved: ConnectionEvent {
    static let type = EventType.connectionModeResolved
    let connectionMode: String
    let previousMode: String
}

struct ConnectionHealthChanged: ConnectionEvent {
    static let type = EventType.connectionHealthChanged
    let previous: HealthSnapshot
    let current: HealthSnapshot
}

struct ConnectionTokenExpiring: ConnectionEvent {
    static let type = EventType.connectionTokenExpiring
    let tokenExpiresAt: String
}

/// `connection.heartbeat.due_soon`, `.overdue` and `.confirmed` (the type is given when
/// emitted): when the next confirmation is due.
struct ConnectionHeartbeat: ConnectionEvent {
    static let type = EventType.heartbeatDueSoon
    let dueAt: String
}

/// A number's health as the account sees it, before and after a change.
struct HealthSnapshot: Encodable, Equatable, Sendable {
    struct Issue: Codable, Equatable, Sendable {
        let entity: String
        let code: String
        let description: String?
    }
    @Nullable var status: String?
    @Nullable var qualityRating: String?
    @Nullable var messagingLimit: String?
    let issues: [Issue]
}

extension Outbox {
    /// Writes a connection event: the subject's fields, the event's own, and the session's
    /// metadata.
    @discardableResult
    static func emit<E: ConnectionEvent>(_ event: E, type: EventType = E.type, about subject: ConnectionSubject,
                                         on connection: Connection) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let own = (try JSONSerialization.jsonObject(with: try encoder.encode(event))) as? [String: Any] ?? [:]
        var fields: [String: Any?] = ["tenantId": subject.tenantID, "sessionId": subject.sessionID, "connectionId": subject.connectionID,
                                      "wabaId": subject.wabaID, "phoneNumberId": subject.phoneNumberID]
        for (key, value) in own { fields[key] = value }
        return try emit(type: type, accountID: subject.accountID, dataJSON: data(fields, metadataJSON: subject.metadataJSON ?? "{}"),
                        on: connection)
    }
}
