/// An error from libpq or the server, with the SQLSTATE when the server sent one.
///
/// `description` carries the server's primary message only; the DETAIL line (which can quote
/// row values) is kept apart in `detail` so that logging an error never logs data.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The connection could not be opened.
        case connectionFailed
        /// The connection broke while in use; it is discarded and the work may be retried.
        case connectionLost
        /// The server rejected the statement (see `sqlState`).
        case server
        /// No pooled connection became free in time.
        case poolTimeout
        /// A value could not be decoded into the requested Swift type.
        case decoding
        /// A migration problem: edited after it was applied, unreadable file, …
        case migration
        /// `transaction` was called inside a transaction: a second BEGIN would only warn, and its
        /// COMMIT would end the outer transaction early. A program error, refused.
        case nestedTransaction
        /// A bound value holds U+0000. libpq sends text parameters as C strings, so it would
        /// reach the server cut at the NUL: refused before anything is sent.
        case invalidParameter
    }

    public let kind: Kind
    public let sqlState: String?
    public let message: String
    public let detail: String?
    public let constraint: String?
    /// The connection was lost during a round trip that carried a `COMMIT` (it may have been
    /// lost before the `COMMIT` reached the server, or after): the transaction may have
    /// committed or not. Work that is not idempotent must not simply be
    /// written again (a row could be written twice); report it, or find out first.
    public internal(set) var commitOutcomeUnknown = false

    public init(_ kind: Kind, _ message: String, sqlState: String? = nil, detail: String? = nil, constraint: String? = nil) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.constraint = constraint
    }

    public var isUniqueViolation: Bool { sqlState == SQLState.uniqueViolation }
    public var isSerializationFailure: Bool { sqlState == SQLState.serializationFailure || sqlState == SQLState.deadlockDetected }
    /// True when the database could not be reached or the session died: worth retrying later.
    public var isConnectivity: Bool {
        switch kind {
        case .connectionFailed, .connectionLost, .poolTimeout: return true
        default: return sqlState.map { $0.hasPrefix("08") || $0 == SQLState.adminShutdown || $0 == SQLState.cannotConnectNow } ?? false
        }
    }

    public var description: String {
        let outcome = commitOutcomeUnknown ? " (during COMMIT: whether it committed is unknown)" : ""
        if let sqlState { return "\(kind.rawValue) [\(sqlState)]: \(message)\(outcome)" }
        return "\(kind.rawValue): \(message)\(outcome)"
    }

    /// `error`, marked `commitOutcomeUnknown` when it is a lost connection: for errors thrown by
    /// a round trip that carried a `COMMIT`.
    static func duringCommit(_ error: any Error) -> any Error {
        guard var error = error as? PostgresError, error.isConnectivity else { return error }
        error.commitOutcomeUnknown = true
        return error
    }
}

/// The SQLSTATE codes the project looks at.
public enum SQLState {
    public static let uniqueViolation = "23505"
    public static let foreignKeyViolation = "23503"
    public static let checkViolation = "23514"
    public static let serializationFailure = "40001"
    public static let deadlockDetected = "40P01"
    public static let adminShutdown = "57P01"
    public static let cannotConnectNow = "57P03"
    public static let queryCanceled = "57014"
    public static let invalidTextRepresentation = "22P02"
}
