import Crypto
import Foundation
import HTTPClient
import JobQueue
import Meta
import Postgres

/// Checks a session's override URL the way Meta will before accepting it: a GET with
/// `hub.mode=subscribe`, `hub.verify_token` and a random `hub.challenge`, which must be answered
/// with 200 and the challenge as the body. The session shows `webhookCheck: passed|failed`.
public struct WebhookCheck: JobKind {
    public struct Args: Codable, Sendable {
        public let sessionId: String
    }
    public static let kind = "onboarding.webhook_check"
    /// Not `onboarding`: a slow tenant URL must never hold a slot the code exchange needs.
    public static let queue = "meta"
    public static let timeout: TimeInterval = 20
    /// A URL that does not answer may be coming up: two more tries, then `failed`.
    public static let retryPolicy = RetryPolicy.fixed([10, 60])

    let vault: Vault
    let client: HTTPClient

    public init(vault: Vault, client: HTTPClient) {
        self.vault = vault
        self.client = client
    }

    public func perform(_ args: Args, context: JobContext) throws {
        guard let row = try context.database.withConnection({ connection in
            try connection.sql("""
                SELECT webhook_override_url, webhook_verify_token FROM onboarding_sessions
                WHERE id = \(args.sessionId) AND webhook_check = 'pending'
                """).first
        }) else { return }  // gone, or already decided
        let url: String = try row.decode(at: 0)
        let token = try vault.openText(try row.decode(String.self, at: 1), associatedData: "session:\(args.sessionId):verify_token")
        let challenge = VerificationHandshake.challenge()

        var failure: String?
        do {
            let response = try client.send(.init(url: VerificationHandshake.url(callback: url, verifyToken: token, challenge: challenge)),
                                            deadline: context.deadline)
            if !VerificationHandshake.passes(status: response.status, body: response.body, challenge: challenge) {
                failure = (200..<300).contains(response.status)
                    ? "answered HTTP \(response.status) without echoing hub.challenge"
                    : "answered HTTP \(response.status)"
                context.logger.info("webhook check refused", ["session": args.sessionId, "status": response.status])
            }
        } catch let error as HTTPClientError {
            // Unreachable now may be reachable soon; a refused address or scheme never is.
            switch error {
            case .timedOut, .transport, .resolution:
                if !context.isLastAttempt { throw JobError.retry(after: WebhookCheck.retryPolicy.delay(afterAttempt: context.attempt), "\(error)") }
            default:
                break
            }
            context.logger.info("webhook check failed", ["session": args.sessionId, "error": "\(error)"])
            // The client's descriptions name the host and the failure, never the URL's query.
            failure = "\(error)"
        }
        try context.database.transaction { tx in
            guard let row = try tx.sql("""
                UPDATE onboarding_sessions SET webhook_check = \(failure == nil ? "passed" : "failed"), webhook_check_error = \(failure)
                WHERE id = \(args.sessionId) AND webhook_check = 'pending'
                RETURNING account_id, tenant_id, metadata::text
                """).first, let failure else { return }
            try Outbox.emit(type: .onboardingWebhookCheckFailed, accountID: try row.decode(at: 0),
                            dataJSON: Outbox.data(["tenantId": try row.decode(String.self, at: 1), "sessionId": args.sessionId,
                                                   "webhookOverrideUrl": url, "webhookCheckError": failure],
                                                  metadataJSON: try row.decode(at: 2)),
                            on: tx)
        }
    }

    /// The end user pressed Connect while the check stood failed: check again.
    static func again(sessionID: String, on connection: Connection) throws {
        try connection.sql("""
            UPDATE onboarding_sessions SET webhook_check = 'pending', webhook_check_error = NULL
            WHERE id = \(sessionID) AND webhook_check = 'failed'
            """)
        try JobQueue.enqueue(WebhookCheck.self, .init(sessionId: sessionID),
                             options: JobOptions(uniqueKey: "webhook-check:\(sessionID)"), on: connection)
    }
}
