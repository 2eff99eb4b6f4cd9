import Crypto
import Foundation
import JobQueue
import Meta
import Postgres

/// Registers a Cloud API number whose registration onboarding had to defer: Meta allows 10
/// register requests per number in a moving 72-hour window and answers 133016 past that
/// (https://developers.facebook.com/documentation/business-messaging/whatsapp/business-phone-numbers/registration),
/// which is a wait, not a failure. Only a number Meta shows verified is registered.
public struct RegisterNumber: JobKind {
    public struct Args: Codable, Sendable {
        let connectionId: String
    }
    public static let kind = "connections.register"
    public static let queue = "meta"
    public static let timeout: TimeInterval = 30
    public static let retryPolicy = RetryPolicy.exponential(base: 60, maximum: 3600, maxAttempts: 20, jitter: 0.2)
    static let limitWindow: TimeInterval = 72 * 3600

    let meta: MetaAccess

    public init(_ meta: MetaAccess) { self.meta = meta }

    static func enqueue(_ connectionID: String, after delay: TimeInterval, on connection: Connection) throws {
        try JobQueue.enqueue(RegisterNumber.self, .init(connectionId: connectionID),
                             options: JobOptions(uniqueKey: "register:\(connectionID)", delay: delay), on: connection)
    }

    public func perform(_ args: Args, context: JobContext) throws {
        guard let row = try context.database.withConnection({
            try $0.sql("""
                SELECT phone_number_id, access_token, registration_pin FROM connections
                WHERE id = \(args.connectionId) AND status = 'active' AND connection_mode = 'cloud_api' AND NOT registered
                """).first
        }) else { return }
        let phoneID: String = try row.decode(at: 0)
        let token = try meta.vault.openText(try row.decode(at: 1), associatedData: args.connectionId)
        guard let phone = try Disconnect.unlessTokenDead(args.connectionId, context: context, {
            try meta.graph.phoneNumber(phoneID, token: token, deadline: context.deadline)
        }) else { return }
        if ConnectionMode.needsRegistration(phone) {
            guard phone.isVerified else { throw JobError.snooze(after: 3600, "phone number \(phoneID) is not verified yet") }
            guard let pin = try row.decode(String?.self, at: 2).map({
                try meta.vault.openText($0, associatedData: "connection:\(args.connectionId):pin")
            }) else { throw JobError.discard("no registration PIN was kept for \(args.connectionId)") }
            do {
                guard try Disconnect.unlessTokenDead(args.connectionId, context: context, {
                    try meta.graph.registerKeepingPIN(phone: phoneID, pin: pin, token: token, deadline: context.deadline, logger: context.logger)
                }) != nil else { return }
            } catch let error as GraphError where error.isRegisterLimit {
                throw JobError.snooze(after: RegisterNumber.limitWindow, "Meta's registration limit: \(error)")
            }
        }
        try context.database.withConnection { try ConnectionStore.markRegistered(args.connectionId, on: $0) }
    }
}
