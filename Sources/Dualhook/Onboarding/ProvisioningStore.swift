import Crypto
import Foundation
import JobQueue
import Postgres

/// The exchange job's reads and writes: the session it works for, the progress it keeps
/// across retries, and the final transaction that stores the connection (or the failure) with
/// its event.
struct ProvisioningStore {
    let database: JobDatabase
    let vault: Vault

    /// A session being provisioned (`exchanging`, or `awaiting_number` with its WABA already
    /// subscribed), with its secrets opened for this attempt.
    struct Session {
        let id: String
        let accountID: String
        let tenantID: String
        let webhookOverrideURL: String
        let webhookVerifyToken: String
        let exchangedToken: String?
        let registrationPins: [String: String]
        let metadataJSON: String
        let coexistence: Bool
        let status: String
        let webhookScope: WebhookScope
        var tokenExpiresAt: Date?
        let expiresAt: Date
        let awaitingSince: Date?
    }

    static func tokenAssociatedData(_ sessionID: String) -> String { "session:\(sessionID):access_token" }
    static func pinAssociatedData(_ sessionID: String, phone: String) -> String { "session:\(sessionID):pin:\(phone)" }

    func provisioning(_ id: String) throws -> Session? {
        guard let row = try database.withConnection({ connection in
            try connection.sql("""
                SELECT account_id, tenant_id, webhook_override_url, webhook_verify_token, exchanged_token,
                       registration_pins::text, metadata::text, coexistence, status, webhook_scope, token_expires_at, expires_at,
                       awaiting_since
                FROM onboarding_sessions WHERE id = \(id) AND status IN ('exchanging', 'awaiting_number')
                """).first
        }) else { return nil }
        let sealedPins = try JSONDecoder().decode([String: String].self, from: Data(try row.decode(String.self, at: 5).utf8))
        var pins: [String: String] = [:]
        for (phone, sealed) in sealedPins {
            pins[phone] = try vault.openText(sealed, associatedData: ProvisioningStore.pinAssociatedData(id, phone: phone))
        }
        return Session(
            id: id, accountID: try row.decode(at: 0), tenantID: try row.decode(at: 1), webhookOverrideURL: try row.decode(at: 2),
            webhookVerifyToken: try vault.openText(try row.decode(at: 3), associatedData: "session:\(id):verify_token"),
            exchangedToken: try row.decode(String?.self, at: 4).map {
                try vault.openText($0, associatedData: ProvisioningStore.tokenAssociatedData(id))
            },
            registrationPins: pins, metadataJSON: try row.decode(at: 6), coexistence: try row.decode(at: 7),
            status: try row.decode(at: 8), webhookScope: WebhookScope(rawValue: try row.decode(at: 9)) ?? .waba,
            tokenExpiresAt: try row.decode(Date?.self, at: 10), expiresAt: try row.decode(at: 11),
            awaitingSince: try row.decode(Date?.self, at: 12))
    }

    enum Claim {
        case claimed
        /// Another onboarding of the same tenant is provisioning this WABA right now.
        case busy
    }

    /// Takes the WABA for the session's tenant. Meta keeps one override per WABA, so a WABA
    /// live (or being onboarded) for another tenant cannot be taken: `waba_webhook_conflict`,
    /// naming the holder's URL only when it is the same account's.
    func claim(waba: String, for session: Session) throws -> Claim {
        let found = try database.transaction { tx -> (account: String, url: String, sameTenant: Bool)? in
            _ = try tx.sql("SELECT pg_advisory_xact_lock(hashtextextended('waba:' || \(waba), 0))")
            let row = try tx.sql("""
                (SELECT account_id, webhook_override_url, false FROM connections
                 WHERE waba_id = \(waba) AND status IN ('active', 'suspended') AND (account_id, tenant_id) <> (\(session.accountID), \(session.tenantID)) LIMIT 1)
                UNION ALL
                (SELECT account_id, webhook_override_url, (account_id, tenant_id) = (\(session.accountID), \(session.tenantID)) FROM onboarding_sessions
                 WHERE waba_id = \(waba) AND status IN ('exchanging', 'awaiting_number') AND id <> \(session.id)
                 ORDER BY (account_id, tenant_id) = (\(session.accountID), \(session.tenantID)) LIMIT 1)
                LIMIT 1
                """).first
            if let row { return (try row.decode(at: 0), try row.decode(at: 1), try row.decode(at: 2)) }
            try tx.sql("UPDATE onboarding_sessions SET waba_id = \(waba) WHERE id = \(session.id)")
            return nil
        }
        guard let found else { return .claimed }
        if found.sameTenant { return .busy }
        var failure = ProvisioningFailure(reason: ProvisioningFailure.wabaWebhookConflict,
                                          message: "WABA \(waba) is connected for another tenant")
        if found.account == session.accountID { failure.existingWebhookOverrideUrl = found.url }
        throw failure
    }

    func keep(token: String, expiresAt: Date?, for session: Session) throws {
        let sealed = try vault.seal(token, associatedData: ProvisioningStore.tokenAssociatedData(session.id))
        try database.withConnection {
            try $0.sql("UPDATE onboarding_sessions SET exchanged_token = \(sealed), token_expires_at = \(expiresAt) WHERE id = \(session.id)")
        }
    }

    func keep(pin: String, phone: String, for session: Session) throws {
        let sealed = try vault.seal(pin, associatedData: ProvisioningStore.pinAssociatedData(session.id, phone: phone))
        try database.withConnection {
            try $0.sql("UPDATE onboarding_sessions SET registration_pins = registration_pins || jsonb_build_object(\(phone)::text, \(sealed)::text) WHERE id = \(session.id)")
        }
    }

    /// What else holds the WABA: live connections, and other onboardings provisioning it.
    func holders(waba: String, except sessionID: String) throws -> Int {
        try database.withConnection {
            try $0.sql("""
                SELECT (SELECT count(*) FROM connections WHERE waba_id = \(waba) AND status IN ('active', 'suspended'))
                     + (SELECT count(*) FROM onboarding_sessions WHERE waba_id = \(waba) AND status IN ('exchanging', 'awaiting_number')
                          AND id <> \(sessionID))
                """).scalar(Int.self) ?? 0
        }
    }

    /// Which of these numbers are live in a connection already.
    func liveNumbers(_ ids: [String]) throws -> Set<String> {
        Set(try database.withConnection {
            try $0.sql("SELECT phone_number_id FROM connections WHERE phone_number_id = ANY(\(ids)) AND status IN ('active', 'suspended')")
                .rows.map { try $0.decode(String.self, at: 0) }
        })
    }

    /// One transaction: the connections (a number already live for this tenant takes the new
    /// token), the latest webhook configuration on every sibling of the WABA, the session
    /// `completed`, `onboarding.completed`, and a mode poll for each `unknown` number.
    func complete(_ session: Session, waba: String, businessID: String?, token: String, numbers: [ProvisionedNumber]) throws {
        try database.transaction { tx in
            guard try tx.sql("""
                SELECT 1 FROM onboarding_sessions WHERE id = \(session.id) AND status IN ('exchanging', 'awaiting_number') FOR UPDATE
                """).first != nil else { return }
            var stored: [(id: String, number: ProvisionedNumber)] = []
            for number in numbers {
                let live = try tx.sql("""
                    SELECT id, (account_id, tenant_id) = (\(session.accountID), \(session.tenantID)) FROM connections
                    WHERE phone_number_id = \(number.phone.id) AND status IN ('active', 'suspended') FOR UPDATE
                    """).first
                if let live, try !live.decode(Bool.self, at: 1) {
                    // Rolled back with the rest: the session fails, nothing of it is stored.
                    throw ProvisioningFailure(reason: ProvisioningFailure.wabaWebhookConflict,
                                              message: "phone number \(number.phone.id) is connected for another tenant")
                }
                let existing = try live?.decode(String.self, at: 0)
                let id = existing ?? Identifiers.make("con")
                try ConnectionStore.store(ConnectionRecord(
                    id: id, accountID: session.accountID, tenantID: session.tenantID, sessionID: session.id, wabaID: waba,
                    phoneNumberID: number.phone.id, businessID: businessID, displayPhoneNumber: number.phone.display_phone_number,
                    verifiedName: number.phone.verified_name, mode: number.mode, sealedAccessToken: try vault.seal(token, associatedData: id),
                    sealedRegistrationPin: try number.pin.map { try vault.seal($0, associatedData: "connection:\(id):pin") },
                    registered: number.registered, qualityRating: number.phone.quality_rating,
                    webhookOverrideURL: session.webhookOverrideURL,
                    sealedVerifyToken: try vault.seal(session.webhookVerifyToken, associatedData: "connection:\(id):verify_token"),
                    webhookScope: session.webhookScope, routingEffectiveURL: number.routing, tokenExpiresAt: session.tokenExpiresAt,
                    syncRequestsJSON: number.syncRequestsJSON), replacing: existing != nil, on: tx)
                stored.append((id, number))
            }
            // The override Meta just accepted is the WABA's, so every sibling routed by the WABA
            // carries it; a sibling with its own number's override keeps it (Meta routes that
            // number by its own), and with per-number routing every sibling keeps its own.
            let found = try tx.sql("""
                SELECT id, webhook_scope = 'waba' FROM connections
                WHERE waba_id = \(waba) AND status = 'active' AND account_id = \(session.accountID) AND tenant_id = \(session.tenantID)
                ORDER BY created_at, id FOR UPDATE
                """).rows.map { (try $0.decode(String.self, at: 0), try $0.decode(Bool.self, at: 1)) }
            let siblings = found.map(\.0)
            if session.webhookScope == .waba {
                try configure(found.filter { id, routedByWABA in routedByWABA && !stored.contains { $0.id == id } }.map(\.0), like: session, on: tx)
            }
            // Where Meta now routes each sibling's webhooks is read back by a health poll now,
            // not at its next poll hours later (its routing read stale, and shadowed, meanwhile).
            for id in siblings where !stored.contains(where: { $0.id == id }) { try PollHealth.bringForward(id, on: tx) }
            let first = stored[0]
            try tx.sql("""
                UPDATE onboarding_sessions SET status = 'completed', connection_id = \(first.id), exchanged_token = NULL,
                    registration_pins = '{}' WHERE id = \(session.id)
                """)
            var data: [String: Any?] = [
                "tenantId": session.tenantID, "sessionId": session.id, "connectionId": first.id, "wabaId": waba,
                "phoneNumberId": first.number.phone.id, "businessId": businessID, "connectionMode": first.number.mode.rawValue,
                "displayPhoneNumber": first.number.phone.display_phone_number, "verifiedName": first.number.phone.verified_name,
                "webhookOverrideUrl": session.webhookOverrideURL, "webhookScope": session.webhookScope.rawValue,
                "siblingConnectionIds": siblings.filter { id in !stored.contains { $0.id == id } },
            ]
            // Said only when it happened: the business's own two-step verification PIN is now
            // the one `reveal-secrets` gives as `registration_pin`.
            if first.number.pinReplaced { data["twoStepPinReplaced"] = true }
            if stored.count > 1 {
                data["connections"] = stored.map { entry -> [String: Any] in
                    var item: [String: Any] = ["connectionId": entry.id, "phoneNumberId": entry.number.phone.id,
                                               "connectionMode": entry.number.mode.rawValue]
                    if entry.number.pinReplaced { item["twoStepPinReplaced"] = true }
                    return item
                }
            }
            try Outbox.emit(type: .onboardingCompleted, accountID: session.accountID,
                            dataJSON: Outbox.data(data, metadataJSON: session.metadataJSON), on: tx)
            for entry in stored where entry.number.mode == .unknown {
                try JobQueue.enqueue(ResolveMode.self, .init(connectionId: entry.id),
                                     options: JobOptions(uniqueKey: "resolve_mode:\(entry.id)", delay: ResolveMode.firstPoll), on: tx)
            }
            for entry in stored where entry.number.registrationDeferred {
                try RegisterNumber.enqueue(entry.id, after: RegisterNumber.limitWindow, on: tx)
            }
            for entry in stored where entry.number.mode == .coexistence && !entry.number.syncDone && !entry.number.syncWindowClosed {
                try RequestSync.enqueue(entry.id, after: 0, on: tx)
            }
        }
    }

    /// The webhook configuration Meta accepted for the WABA, on these connections.
    func configure(_ ids: [String], like session: Session, on tx: Connection) throws {
        for id in ids {
            try ConnectionStore.setWebhook(id, url: session.webhookOverrideURL,
                                           sealedVerifyToken: try vault.seal(session.webhookVerifyToken, associatedData: "connection:\(id):verify_token"),
                                           on: tx)
        }
    }

    /// The WABA is subscribed with its override but Meta shows no usable number yet: the
    /// session waits in `awaiting_number` (with `onboarding.awaiting_number`) while a job asks
    /// Meta again.
    func awaitNumber(_ session: Session, waba: String, phoneID: String?, businessID: String?, event: String?,
                     overrideAccepted: Bool) throws {
        try database.transaction { tx in
            if overrideAccepted && session.webhookScope == .waba { try configureSiblings(of: session, waba: waba, on: tx) }
            guard try tx.sql("""
                UPDATE onboarding_sessions SET status = 'awaiting_number', awaiting_since = now(), business_id = \(businessID)
                WHERE id = \(session.id) AND status = 'exchanging' RETURNING id
                """).first != nil else { return }
            // The number the browser reported, when it did (not yet verified, or not yet on the
            // app): API.md's data carries `phoneNumberId` whenever it is known.
            let data: [String: Any?] = ["tenantId": session.tenantID, "sessionId": session.id, "wabaId": waba, "businessId": businessID,
                                        "phoneNumberId": phoneID, "webhookOverrideUrl": session.webhookOverrideURL]
            try Outbox.emit(type: .onboardingAwaitingNumber, accountID: session.accountID,
                            dataJSON: Outbox.data(data, metadataJSON: session.metadataJSON), on: tx)
            try JobQueue.enqueue(AwaitNumber.self, .init(sessionId: session.id, wabaId: waba, phoneNumberId: phoneID,
                                                         businessId: businessID, event: event),
                                 options: JobOptions(uniqueKey: "await_number:\(session.id)", delay: AwaitNumber.firstPoll), on: tx)
        }
    }

    /// The tenant's siblings routed by the WABA (not those with their own number's override).
    private func configureSiblings(of session: Session, waba: String, on tx: Connection) throws {
        let siblings = try tx.sql("""
            SELECT id FROM connections
            WHERE waba_id = \(waba) AND status = 'active' AND account_id = \(session.accountID) AND tenant_id = \(session.tenantID)
              AND webhook_scope = 'waba'
            ORDER BY id FOR UPDATE
            """).rows.map { try $0.decode(String.self, at: 0) }
        try configure(siblings, like: session, on: tx)
    }

    /// The session `failed` with its reason, and `onboarding.failed`; the kept token goes. An
    /// override Meta already accepted is the WABA's now, so the tenant's siblings carry it. The
    /// event names the WABA and the number the browser reported, as API.md asks of every event
    /// ("when known").
    func fail(_ session: Session, _ failure: ProvisioningFailure, waba: String, phone: String?, overrideAccepted: Bool) throws {
        try database.transaction { tx in
            if overrideAccepted && session.webhookScope == .waba {
                try configureSiblings(of: session, waba: waba, on: tx)
            }
            try ProvisioningStore.fail(session.id, accountID: session.accountID, tenantID: session.tenantID,
                                       metadataJSON: session.metadataJSON, failure, waba: waba, phone: phone, on: tx)
        }
    }

    /// Fails a session whose secrets did not open (a key ring without the key that sealed
    /// them), from its plain columns alone; false when it had ended already.
    @discardableResult
    func failUnopened(_ id: String, _ failure: ProvisioningFailure, waba: String, phone: String?) throws -> Bool {
        try database.transaction { tx in
            guard let row = try tx.sql("""
                SELECT account_id, tenant_id, metadata::text FROM onboarding_sessions
                WHERE id = \(id) AND status IN ('exchanging', 'awaiting_number') FOR UPDATE
                """).first else { return false }
            return try ProvisioningStore.fail(id, accountID: try row.decode(at: 0), tenantID: try row.decode(at: 1),
                                              metadataJSON: try row.decode(at: 2), failure, waba: waba, phone: phone, on: tx)
        }
    }

    /// The session failed with its reason and `onboarding.failed`, once.
    @discardableResult
    private static func fail(_ id: String, accountID: String, tenantID: String, metadataJSON: String, _ failure: ProvisioningFailure,
                             waba: String, phone: String?, on tx: Connection) throws -> Bool {
        guard try tx.sql("""
            UPDATE onboarding_sessions SET status = 'failed', failure_reason = \(failure.reason), exchanged_token = NULL, registration_pins = '{}'
            WHERE id = \(id) AND status IN ('exchanging', 'awaiting_number') RETURNING id
            """).first != nil else { return false }
        var data: [String: Any?] = ["tenantId": tenantID, "sessionId": id, "wabaId": waba, "phoneNumberId": phone,
                                    "reason": failure.reason, "error": failure.message,
                                    "existingWebhookOverrideUrl": failure.existingWebhookOverrideUrl]
        if let graph = failure.graph {
            var meta: [String: Any] = ["code": graph.code]
            if let subcode = graph.subcode { meta["subcode"] = subcode }
            if let trace = graph.fbtraceID { meta["fbtraceId"] = trace }
            // Meta's own explanation (`error_data.details`), which it asks integrators to act on.
            if let details = graph.details, !details.isEmpty { meta["details"] = details }
            data["metaError"] = meta
        }
        try Outbox.emit(type: .onboardingFailed, accountID: accountID,
                        dataJSON: Outbox.data(data, metadataJSON: metadataJSON), on: tx)
        return true
    }

    /// The session as a job of it needs it. On the job's last attempt, a session whose secrets
    /// do not open fails (`meta_error`, "provisioning stopped", as any other error at the last
    /// attempt) rather than waiting in `exchanging` or `awaiting_number` until its link expires;
    /// the key's id stays in the worker's log, not in the tenant's event.
    func provisioning(_ id: String, waba: String, phone: String?, context: JobContext) throws -> Session? {
        do {
            return try provisioning(id)
        } catch let error as Vault.VaultError where context.isLastAttempt {
            context.logger.error("an onboarding's secrets do not open with this worker's DUALHOOK_MASTER_KEYS; the session fails",
                                 ["session": id, "error": "\(error)"])
            try failUnopened(id, ProvisioningFailure(reason: ProvisioningFailure.metaError,
                                                     message: "provisioning stopped: the session's sealed secrets could not be opened"),
                             waba: waba, phone: phone)
            return nil
        }
    }
}
