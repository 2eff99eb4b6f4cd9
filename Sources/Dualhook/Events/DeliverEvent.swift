import Crypto
import Foundation
import HTTPClient
import JobQueue

/// Delivers one event to its account's event URL, signed with every valid secret in both
/// header families. 2xx is delivered; anything else (a 3xx included: redirects are not
/// followed) or no answer within 15 s is a failed attempt, retried after 1m, 5m, 15m, 1h, 6h
/// and 24h, then `failed`. A `Retry-After` on a 429 or 503 can push a retry later, never past
/// 24 h. Each attempt is logged in `event_attempts`.
///
/// At most `slotsPerAccount` deliveries of one account are in flight in a worker process; a job
/// that finds them all taken steps aside (snoozes, its attempt not counted), so a slow endpoint
/// holds only its own account's slots and the queue's other slots keep serving every other
/// account.
public struct DeliverEvent: JobKind {
    public struct Args: Codable, Sendable {
        let eventId: String
        /// Lets a job whose account has no free slot step aside before reading anything.
        var accountId: String?
    }
    // The `events` insert trigger (sql/005_event_delivery.sql) enqueues this kind with these
    // values; EventDeliveryTests checks they agree.
    public static let kind = "events.deliver"
    public static let queue = "events"
    public static let timeout: TimeInterval = 20
    public static let retryPolicy = RetryPolicy.fixed([60, 300, 900, 3600, 21_600, 86_400])
    static let requestTimeout: TimeInterval = 15
    static let longestDelay: TimeInterval = 86_400

    let vault: Vault
    let client: HTTPClient
    let slots: AccountSlots

    public init(vault: Vault, allowPrivateTargets: Bool, slotsPerAccount: Int) {
        self.vault = vault
        // The first 4 KiB of an answer are kept with the attempt.
        self.client = HTTPClient(allowPrivateTargets: allowPrivateTargets, maxResponseBytes: 4096, userAgent: "Dualhook-Webhooks/1.0")
        self.slots = AccountSlots(limit: slotsPerAccount)
    }

    public func perform(_ args: Args, context: JobContext) throws {
        let store = DeliveryStore(database: context.database, vault: vault)
        var held: String?
        defer { held.map(slots.release) }
        if let account = args.accountId {
            guard slots.acquire(account) else {
                throw JobError.snooze(after: slots.snoozeDelay(account), "the account's delivery slots are taken")
            }
            held = account
        }
        guard let (delivery, url) = try store.load(eventID: args.eventId) else { return }  // the event is gone
        guard url != nil else {
            try store.markNoEndpoint(args.eventId)
            return
        }
        if held == nil {  // a job queued without its account (redelivery of an old job)
            guard slots.acquire(delivery.accountID) else {
                throw JobError.snooze(after: slots.snoozeDelay(delivery.accountID), "the account's delivery slots are taken")
            }
            held = delivery.accountID
        }
        guard !delivery.secrets.isEmpty else {
            // Never send unsigned: a receiver could not tell it from a forgery.
            throw JobError.retry(after: DeliverEvent.retryPolicy.delay(afterAttempt: context.attempt), "the account has no valid signing secret")
        }

        let attempt = send(delivery, context: context)
        slots.noteOutcome(delivery.accountID, delivered: attempt.attempt.delivered)
        if attempt.attempt.delivered {
            Counters.shared.add("dualhook_event_deliveries_total", [("outcome", "delivered")])
            try store.record(delivery, attempt: attempt.attempt, status: "delivered", nextAttemptAt: nil)
            return
        }
        let message = "delivery failed: \(attempt.attempt.error ?? "")"
        if context.isLastAttempt {
            Counters.shared.add("dualhook_event_deliveries_total", [("outcome", "failed")])
            try store.record(delivery, attempt: attempt.attempt, status: "failed", nextAttemptAt: nil)
            throw JobError.discard(message)
        }
        var delay = DeliverEvent.retryPolicy.delay(afterAttempt: context.attempt)
        if let retryAfter = attempt.retryAfter { delay = min(max(delay, retryAfter), DeliverEvent.longestDelay) }
        Counters.shared.add("dualhook_event_deliveries_total", [("outcome", "retry")])
        try store.record(delivery, attempt: attempt.attempt, status: "pending",
                         nextAttemptAt: Date().addingTimeInterval(delay))
        throw JobError.retry(after: delay, message)
    }

    func send(_ delivery: DeliveryStore.Delivery, context: JobContext) -> (attempt: DeliveryStore.Attempt, retryAfter: TimeInterval?) {
        let timestamp = Int(Date().timeIntervalSince1970)
        let headers = [
            ("Content-Type", "application/json"),
            ("X-Dualhook-Event", delivery.type),
            ("X-Dualhook-Event-Id", delivery.eventID),
            ("X-Dualhook-Signature", EventSignature.dualhook(secrets: delivery.secrets, timestamp: timestamp, body: delivery.body)),
            ("webhook-id", delivery.eventID),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", EventSignature.standard(secrets: delivery.secrets, id: delivery.eventID, timestamp: timestamp, body: delivery.body)),
        ]
        let started = Date()
        let deadline = min(context.deadline, started.addingTimeInterval(DeliverEvent.requestTimeout))
        do {
            let response = try client.send(.init(method: "POST", url: delivery.url, headers: headers, body: delivery.body), deadline: deadline)
            let body = String(decoding: response.body, as: UTF8.self).replacingOccurrences(of: "\u{0}", with: "")
            let ok = (200..<300).contains(response.status)
            var error: String?
            if !ok {
                error = (300..<400).contains(response.status) ? "HTTP \(response.status): redirects are not followed" : "HTTP \(response.status)"
            }
            let retryAfter = [429, 503].contains(response.status) ? response.header("Retry-After").flatMap(DeliverEvent.parseRetryAfter) : nil
            return (.init(at: started, statusCode: response.status, durationMs: Date().timeIntervalSince(started) * 1000,
                          error: error, responseBody: body), retryAfter)
        } catch {
            return (.init(at: started, statusCode: nil, durationMs: Date().timeIntervalSince(started) * 1000,
                          error: "\(error)", responseBody: nil), nil)
        }
    }

    /// Seconds, or an HTTP date.
    static func parseRetryAfter(_ value: String) -> TimeInterval? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(text) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text).map { max(0, $0.timeIntervalSinceNow) }
    }
}
