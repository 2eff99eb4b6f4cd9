import Crypto
import Foundation
import HTTPClient
import JobQueue
import Logging
import Postgres
import Synchronization

/// Delivers one event to one endpoint, signed with every valid secret of that endpoint in both
/// header families. 2xx is delivered; anything else (a 3xx included: redirects are not
/// followed) or no answer within 15 s is a failed attempt, retried after 1m, 5m, 15m, 1h, 6h
/// and 24h, then `failed`. A `Retry-After` on a 429 or 503 can push a retry later, never past
/// 24 h. `410 Gone` disables the endpoint at once and holds the event for it. Each attempt is
/// logged in `event_attempts`.
///
/// At most `slotsPerAccount` deliveries of one account are in flight across every worker
/// process (`event_slots`); an endpoint that holds one takes another only while a slot stays
/// free for each sibling holding none, so a slow endpoint holds only its own slots; an endpoint's
/// `rateLimitPerSecond` is counted the same way. A job that finds no slot steps aside (snoozes,
/// its attempt not counted), and the queue's other slots keep serving everyone else.
public struct DeliverEvent: BatchJobKind {
    public struct Args: Codable, Sendable {
        let eventId: String
        /// Lets a job whose account has no free slot step aside before reading anything.
        var accountId: String?
        /// Nil in jobs queued before endpoints existed: the account's default endpoint.
        var endpointId: String?
        /// A redelivery asked while an attempt was running: sent even if that attempt delivered.
        var again: Bool?
    }
    // The `events` insert trigger (sql/037_endpoint_takes_function.sql) enqueues this kind through
    // `job_enqueue`; EventDeliveryTests checks the kind's settings agree.
    public static let kind = "events.deliver"
    public static let queue = "events"
    public static let timeout: TimeInterval = 20
    public static let retryPolicy = RetryPolicy.fixed([60, 300, 900, 3600, 21_600, 86_400])
    static let requestTimeout: TimeInterval = 15
    static let longestDelay: TimeInterval = 86_400

    let vault: Vault
    let client: HTTPClient
    let slotsPerAccount: Int
    /// Loads of jobs starting together, read in one statement.
    /// A batch's read that timed out fails its jobs at once (each retries on its own schedule):
    /// reading them again one after another would hold them all far longer. A deadlock or a
    /// connection found broken is cured by a retry, so each job's read runs again alone, on a
    /// connection of its own, as before reads were batched; also after a COMMIT whose outcome is
    /// unknown, as a job's slot take finds the slot it took before (`event_slot_take`).
    ///
    /// One batch at a time (loads and attempts alike): two in flight halved each batch (2.9
    /// loads per statement against 5.7), and their slot takes waited on each other's account
    /// locks. Measured over the burst of `ops/bench/events 10000`, alternating, three pairs:
    /// Postgres CPU per delivery 0.85–1.04 ms against 1.18–1.23 ms with two.
    let loader = CommitBatcher<DeliveryStore.LoadRequest, DeliveryStore.Loaded?>(concurrency: 1,
        retryAlone: DeliverEvent.loadRetriesAlone, write: DeliveryStore.loadAll)
    /// Attempts of jobs finishing together, written in one transaction.
    let recorder = CommitBatcher<DeliveryStore.Recorded, Void>(concurrency: 1, retryAlone: DeliveryStore.recordRetriesAlone,
                                                               write: DeliveryStore.recordAll)
    /// Endpoints whose last attempt here failed: a job that finds their slots taken stays away longer.
    let failing = FailingEndpoints()
    /// Delivery slots kept between deliveries to one endpoint.
    let heldSlots = HeldSlots()
    /// Signing secrets opened by earlier deliveries (one AES-GCM open per secret, not per delivery).
    let openedSecrets = OpenedSecrets()

    final class FailingEndpoints: Sendable {
        private let set = Mutex<Set<String>>([])
        func withLock<R>(_ body: (inout Set<String>) -> R) -> R { set.withLock { body(&$0) } }
    }

    public init(vault: Vault, allowPrivateTargets: Bool, slotsPerAccount: Int) {
        self.vault = vault
        // The first 4 KiB of an answer are kept with the attempt.
        self.client = HTTPClient(allowPrivateTargets: allowPrivateTargets, maxResponseBytes: 4096, userAgent: "Dualhook-Webhooks/1.0")
        self.slotsPerAccount = slotsPerAccount
    }

    /// A slot thread runs up to this many deliveries together: their reads in one statement,
    /// their requests at once from the thread (`HTTPClient.sendAll`), their attempts in one
    /// transaction. One thread per delivery cost each delivery four sleeps and wake-ups (its
    /// slot, its read, its answer, its write): 45 % of the worker's CPU was the kernel's, most
    /// of it switching threads (perf over `ops/bench/events`).
    public static let batchSize = 16

    /// How long an answer waits for others of its batch before its attempt is written: writing
    /// each group of answers as curl reported them cost about a quarter more CPU per delivery
    /// (smaller writes: Postgres 0.18 → 0.22 ms, the worker 0.09 → 0.11 ms in
    /// `ops/bench/events`), and written only at the batch's end, a slow endpoint's attempt held
    /// every other job of its batch, and the slots of their accounts, until it ended.
    static let answersGather: TimeInterval = 0.01

    /// A job of the batch on its way: what it asked for, what it found, what it sent.
    private struct Step {
        let job: BatchJob<Args>
        let store: DeliveryStore
        let reused: (slot: HeldSlots.Slot, renew: Bool)?
        let asked: TimeInterval
        let lease: TimeInterval
        var kept: HeldSlots.Slot? { reused?.slot }
    }

    /// A delivery whose slot is taken and whose request goes out in this batch.
    private struct Sending {
        let index: Int
        let delivery: DeliveryStore.Delivery
        let slot: HeldSlots.Slot
    }

    /// A delivery sent, and its answer as the attempt it records.
    private struct Answered {
        let sent: Sending
        let attempt: DeliveryStore.Attempt
        let retryAfter: TimeInterval?
    }

    /// Each job is finished as soon as its outcome is known: one that sends nothing after its
    /// read, one whose answer came with the attempt written, so a slow endpoint's answer holds
    /// its own job's slot and no other (answers are written in the groups they come in).
    public func performBatch(_ jobs: [BatchJob<Args>], finish: BatchFinish) {
        let steps = jobs.map { job -> Step in
            let context = job.context
            // A slot this process kept for the endpoint: as it is when its lease lasts this attempt
            // and the margin a take would ask, else renewed by the take.
            return Step(job: job, store: DeliveryStore(database: context.database, vault: vault, openedSecrets: openedSecrets),
                        reused: job.args.endpointId.flatMap { heldSlots.reuse(endpoint: $0, lasting: context.remaining + 5) },
                        asked: HeldSlots.now, lease: context.remaining + 5 + HeldSlots.reuseWindow)
        }
        let requests = steps.map { step in
            DeliveryStore.LoadRequest(eventID: step.job.args.eventId, endpointID: step.job.args.endpointId, job: step.job.context.jobID,
                                      holder: step.kept?.holder, renew: step.reused?.renew == true,
                                      slotsPerAccount: slotsPerAccount, lease: step.lease, sendAnyway: step.job.args.again == true)
        }
        let loaded = steps[0].store.load(requests, loader: loader, retryAlone: DeliverEvent.loadRetriesAlone)
        var sending: [Sending] = []
        var ended: [(Int, (any Error)?)] = []
        for (i, step) in steps.enumerated() {
            do {
                let found: DeliveryStore.Delivery?
                do {
                    found = try loaded[i].get()
                } catch {
                    // A kept slot is given back: whether the read took it again is not known.
                    if let kept = step.kept { try? step.store.releaseSlot(holder: kept.holder, account: kept.account) }
                    throw error
                }
                // `decide` sees a read that found nothing too: a slot kept for the endpoint is kept on.
                if let slot = try decide(step, found), let found {
                    sending.append(Sending(index: i, delivery: found, slot: slot))
                } else {
                    ended.append((i, nil))
                }
            } catch {
                ended.append((i, error))
            }
        }
        finish(ended)
        guard !sending.isEmpty else { return }

        let deadline = sending.map { steps[$0.index].job.context.deadline }.min()!
        send(sending.map(\.delivery), deadline: min(deadline, Date().addingTimeInterval(DeliverEvent.requestTimeout))) { answers in
            let group = answers.map { n, answer in
                let endpoint = sending[n].delivery.endpointID
                failing.withLock { if answer.attempt.delivered { $0.remove(endpoint) } else { $0.insert(endpoint) } }
                return Answered(sent: sending[n], attempt: answer.attempt, retryAfter: answer.retryAfter)
            }
            record(group, steps: steps, finish: finish)
        }
    }

    /// What a job's read found, before anything is sent: the slot to send under, or nil when
    /// there is nothing to send now (the job then succeeds), or the error the job ends with. A
    /// slot taken and not to be used is given back here.
    private func decide(_ step: Step, _ found: DeliveryStore.Delivery?) throws -> HeldSlots.Slot? {
        let context = step.job.context
        // The event or endpoint is gone.
        guard let delivery = found else {
            if let kept = step.kept { keep(kept, context: context) }
            return nil
        }
        switch delivery.slot {
        case .none:
            if let kept = step.kept { keep(kept, context: context) }
            // Delivered or given up meanwhile, or held: the endpoint is disabled.
            if !delivery.endpointEnabled { try step.store.markHeld(delivery) }
            return nil
        case .busy:
            if let kept = step.kept { keep(kept, context: context) }
            throw JobError.snooze(after: Double.random(in: 0.5...1.5), "the attempt before this redelivery is still running")
        // A kept slot is no longer held: the take under its holder gave it back.
        case .slots:
            let away = failing.withLock { $0.contains(delivery.endpointID) } ? Double.random(in: 10...20) : Double.random(in: 0.5...2)
            throw JobError.snooze(after: away, "the account's delivery slots are taken")
        case .rate:
            let fraction = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 1)
            throw JobError.snooze(after: 1 - fraction + Double.random(in: 0...0.2), "the endpoint's rate limit is reached for this second")
        case .ok:
            break
        }
        // A kept slot reused as it was, or renewed by the take (counted as not renewed unless
        // the take surely ran); leases counted from before the read.
        let kept = step.kept
        let slot = HeldSlots.Slot(account: delivery.accountID, endpoint: delivery.endpointID, holder: kept?.holder ?? context.jobID,
                                  heldUntil: kept.map { step.reused?.renew == true ? step.asked + step.lease : $0.heldUntil }
                                      ?? step.asked + step.lease)
        guard !delivery.secrets.isEmpty else {
            // Never send unsigned: a receiver could not tell it from a forgery.
            try? step.store.releaseSlot(holder: slot.holder, account: slot.account)
            throw JobError.retry(after: DeliverEvent.retryPolicy.delay(afterAttempt: context.attempt), "the endpoint has no valid signing secret")
        }
        return slot
    }

    /// Writes the attempts: delivered ones and ordinary retries together in one transaction
    /// (a delivered job completed in it), a 410 or a last attempt each in its own. A slot whose
    /// attempt could not be written is given back.
    private func record(_ answered: [Answered], steps: [Step], finish: BatchFinish) {
        var ended: [(Int, (any Error)?)] = []
        defer { finish(ended) }
        var together: [(Answered, DeliveryStore.Recorded, keeping: Bool, retry: TimeInterval?)] = []
        for answer in answered {
            let item = answer.sent, attempt = answer.attempt
            let step = steps[item.index]
            let context = step.job.context
            let delivery = item.delivery, slot = item.slot
            // Kept for the endpoint's next delivery while another attempt fits in its lease.
            let keeping = slot.heldUntil - HeldSlots.now > DeliverEvent.timeout + 5 + 1
            if attempt.delivered {
                Counters.shared.add("dualhook_event_deliveries_total", [("outcome", "delivered")])
                together.append((answer, step.store.recorded(delivery, attempt: attempt, status: .delivered, nextAttemptAt: nil,
                                                             slotHolder: slot.holder, keepSlot: keeping, completion: context.completion),
                                 keeping, nil))
                continue
            }
            let message = "delivery failed: \(attempt.error ?? "")"
            if attempt.statusCode == 410 || context.isLastAttempt {
                do {
                    if attempt.statusCode == 410 {
                        // The receiver says the endpoint is gone for good: disabled now, the event kept.
                        Counters.shared.add("dualhook_event_deliveries_total", [("outcome", "held")])
                        try step.store.record(delivery, attempt: attempt, status: .held, nextAttemptAt: nil, slotHolder: slot.holder,
                                              recorder: recorder) { tx in
                            try EventEndpointStore.disable(delivery.endpointID, reason: .gone, on: tx)
                        }
                        context.logger.warning("event endpoint disabled: it answered 410 Gone; its events are held until it is enabled",
                                               ["endpoint": delivery.endpointID, "account": delivery.accountID, "event": delivery.eventID])
                        ended.append((item.index, nil))
                    } else {
                        Counters.shared.add("dualhook_event_deliveries_total", [("outcome", "failed")])
                        try step.store.record(delivery, attempt: attempt, status: .failed, nextAttemptAt: nil, slotHolder: slot.holder,
                                              recorder: recorder)
                        ended.append((item.index, JobError.discard(message)))
                    }
                } catch {
                    try? step.store.releaseSlot(holder: slot.holder, account: slot.account)
                    ended.append((item.index, error))
                }
                continue
            }
            var delay = DeliverEvent.retryPolicy.delay(afterAttempt: context.attempt)
            if let retryAfter = answer.retryAfter { delay = min(max(delay, retryAfter), DeliverEvent.longestDelay) }
            Counters.shared.add("dualhook_event_deliveries_total", [("outcome", "retry")])
            together.append((answer, step.store.recorded(delivery, attempt: attempt, status: .pending, nextAttemptAt: Date().addingTimeInterval(delay),
                                                         slotHolder: slot.holder, keepSlot: keeping),
                             keeping, delay))
        }
        guard !together.isEmpty else { return }
        let written = steps[0].store.record(together.map(\.1), recorder: recorder)
        for ((answer, _, keeping, retry), outcome) in zip(together, written) {
            let item = answer.sent, step = steps[item.index]
            let message = "delivery failed: \(answer.attempt.error ?? "")"
            switch outcome {
            case .success:
                if retry == nil { step.job.context.completedInTransaction() }
                if keeping { keep(item.slot, context: step.job.context) }
                ended.append((item.index, retry.map { JobError.retry(after: $0, message) }))
            case .failure(let error):
                try? step.store.releaseSlot(holder: item.slot.holder, account: item.slot.account)
                ended.append((item.index, error))
            }
        }
    }

    /// Whether a batch of reads that failed is read again job by job: for a deadlock or a
    /// connection found broken, which a retry cures (see `loader`).
    static let loadRetriesAlone: @Sendable (any Error) -> Bool = {
        ($0 as? PostgresError).map { $0.isSerializationFailure || $0.isConnectivity } ?? false
    }

    /// Keeps a slot for the endpoint's next delivery in this process (`HeldSlots`), under its
    /// holder's id negated as `recordAll` wrote it.
    private func keep(_ slot: HeldSlots.Slot, context: JobContext) {
        let kept = HeldSlots.Slot(account: slot.account, endpoint: slot.endpoint, holder: -abs(slot.holder), heldUntil: slot.heldUntil)
        let database = context.database
        heldSlots.keep(kept) { DeliverEvent.giveBack($0, database: database) }
    }

    static let slotsLogger = Logger(label: "event-slots")

    /// Kept slots given back; those that cannot be are held until their leases end, as a killed worker's are.
    static func giveBack(_ slots: [HeldSlots.Slot], database: JobDatabase) {
        do {
            try DeliveryStore.release(holders: slots.map(\.holder), accounts: slots.map(\.account), database: database)
        } catch {
            slotsLogger.warning("could not give back kept delivery slots", ["slots": slots.count, "error": "\(error)"])
        }
    }

    public func workerStopping(database: JobDatabase) {
        heldSlots.stop { DeliverEvent.giveBack($0, database: database) }
    }

    /// Sends each delivery, signed, all at once (`HTTPClient.sendAll`), giving the answers to
    /// `answered` in the groups they come in, each with its delivery's index.
    func send(_ deliveries: [DeliveryStore.Delivery], deadline: Date,
              answered: ([(Int, (attempt: DeliveryStore.Attempt, retryAfter: TimeInterval?))]) -> Void) {
        let timestamp = Int(Date().timeIntervalSince1970)
        let requests = deliveries.map { delivery in
            HTTPClient.Request(method: "POST", url: delivery.url, headers: [
                ("Content-Type", "application/json"),
                ("X-Dualhook-Event", delivery.type),
                ("X-Dualhook-Event-Id", delivery.eventID),
                ("X-Dualhook-Signature", EventSignature.dualhook(secrets: delivery.secrets, timestamp: timestamp, body: delivery.body)),
                ("webhook-id", delivery.eventID),
                ("webhook-timestamp", String(timestamp)),
                ("webhook-signature", EventSignature.standard(secrets: delivery.secrets, id: delivery.eventID, timestamp: timestamp, body: delivery.body)),
            ], body: delivery.body)
        }
        let started = Date()
        client.sendAll(requests, deadline: deadline, gather: DeliverEvent.answersGather) { answers in
            answered(answers.map { n, result in (n, DeliverEvent.attempt(result, started: started)) })
        }
    }

    /// An answer, or the failure to get one, as the attempt it records.
    static func attempt(_ result: Result<HTTPClient.Response, HTTPClientError>, started: Date)
        -> (attempt: DeliveryStore.Attempt, retryAfter: TimeInterval?) {
        switch result {
        case .success(let response):
            let body = DeliverEvent.storable(response.body)
            let ok = (200..<300).contains(response.status)
            var error: String?
            if !ok {
                error = (300..<400).contains(response.status) ? "HTTP \(response.status): redirects are not followed" : "HTTP \(response.status)"
            }
            let retryAfter = [429, 503].contains(response.status) ? response.retryAfter : nil
            return (.init(at: started, statusCode: response.status, durationMs: response.duration * 1000,
                          error: error, responseBody: body), retryAfter)
        case .failure(let error):
            return (.init(at: started, statusCode: nil, durationMs: Date().timeIntervalSince(started) * 1000,
                          error: "\(error)", responseBody: nil), nil)
        }
    }

    /// An answer's body as the attempt keeps it: Postgres text holds no NUL, so NUL bytes are
    /// dropped, from the bytes and only when there is one (a string search over every answer
    /// was 2.5 % of the worker's samples); bytes that are not UTF-8 become U+FFFD.
    static func storable(_ body: Data) -> String {
        String(decoding: body.contains(0) ? Data(body.filter { $0 != 0 }) : body, as: UTF8.self)
    }
}
