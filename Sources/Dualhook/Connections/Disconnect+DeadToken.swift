import Foundation
import JobQueue
import Meta
import Postgres

extension Disconnect {
    /// Runs `body`, a job's calls to Meta with a connection's token. A token Meta no longer
    /// accepts (190, or 102 without a subcode: "Get a new access token",
    /// https://developers.facebook.com/docs/graph-api/guides/error-handling) will not work on a
    /// retry either: the connection is disconnected (`token_expired` for subcode 463, else
    /// `token_revoked`) and nil is returned, the job's work ending there.
    static func unlessTokenDead<T>(_ connectionID: String, context: JobContext, _ body: () throws -> T) throws -> T? {
        do {
            return try body()
        } catch let error as GraphError where error.isTokenInvalid {
            try context.database.withConnection { try disconnectForDeadToken(connectionID, error, context: context, on: $0) }
            return nil
        }
    }

    /// The connection's disconnect for a token Meta refused, on the caller's transaction.
    static func disconnectForDeadToken(_ connectionID: String, _ error: GraphError, context: JobContext, on connection: Connection) throws {
        let reason: DisconnectReason = error.isTokenExpired ? .tokenExpired : .tokenRevoked
        context.logger.info("token no longer accepted; disconnecting", ["connection": connectionID, "reason": reason.rawValue, "error": "\(error)"])
        // Meta refuses every call with this token: no unsubscribe can be sent with it.
        try enqueue(connectionID, reason: reason, unsubscribe: false, on: connection)
    }
}
