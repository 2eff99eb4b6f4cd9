import Foundation
import Logging
import Postgres
import Synchronization

/// Prometheus counters of what the product did (deliveries, forwards, onboarding outcomes),
/// counted in whichever process did it and added to `process_counters` every few seconds on
/// a thread and connection of its own: a hot transaction never writes a counter row, and no
/// two processes share one. `/metrics` sums the rows. A process killed between flushes loses
/// at most its last few seconds of increments: the counters are for dashboards, not billing.
public final class Counters: Sendable {
    public static let shared = Counters()

    struct Key: Hashable, Sendable {
        let name: String
        /// Prometheus label text, e.g. `outcome="delivered"`, written by this program.
        let labels: String
    }

    private let pending = Mutex<[Key: Int]>([:])
    private let process = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
    private let started = Mutex(false)
    /// One flush at a time: a clean stop's last flush waits for one the flusher has under way,
    /// whose rows would otherwise be lost with the process.
    private let flushing = Mutex(())
    private let logger = Logger(label: "counters")

    /// Counts one (or `by`) of `name` with `labels` (names and values this program chose).
    func add(_ name: String, _ labels: [(String, String)] = [], by amount: Int = 1) {
        // Written with appends, escaping only a value that needs it: the map, join and two
        // replacements per label were 3.5 % of the event worker's instructions (callgrind).
        var text = ""
        for (index, (label, value)) in labels.enumerated() {
            if index > 0 { text += "," }
            text += label
            text += "=\""
            text += value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") })
                ? value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                : value
            text += "\""
        }
        pending.withLock { $0[Key(name: name, labels: text), default: 0] += amount }
    }

    /// Counts once `connection`'s work has committed; a rolled-back transaction counts nothing.
    func add(_ name: String, _ labels: [(String, String)] = [], after connection: Connection) {
        connection.afterCommit { [self] in add(name, labels) }
    }

    /// Starts this process's flusher (idempotent).
    public func start(databaseURL: String, interval: TimeInterval = 5) {
        guard started.withLock({ started in defer { started = true }; return !started }) else { return }
        let thread = Thread { [self] in
            var connection: Connection?
            while true {
                Thread.sleep(forTimeInterval: interval)
                connection = flush(url: databaseURL, connection)
            }
        }
        thread.name = "counters"
        thread.start()
    }

    /// A clean stop's last flush, on a connection of its own: what was counted since the last
    /// flush is not lost with the process (only a killed one loses its last seconds). It waits
    /// `waiting` seconds at most for a flush the flusher has under way: one stuck on a database
    /// that stopped answering would otherwise hold the stop until TCP gives up, minutes later.
    public func finish(databaseURL: String, waiting: TimeInterval = 5) {
        let until = Date().addingTimeInterval(waiting)
        while true {
            if let connection = flushing.withLockIfAvailable({ _ in flushPending(url: databaseURL, nil) }) {
                connection?.close()
                return
            }
            guard Date() < until else {
                logger.warning("the counts since the last flush are not written: a flush to the database has not finished",
                               ["waited_s": "\(Int(waiting))"])
                return
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Adds what was counted since the last flush; on failure it is kept for the next one.
    @discardableResult
    func flush(url: String, _ reuse: Connection?) -> Connection? {
        flushing.withLock { _ in flushPending(url: url, reuse) }
    }

    private func flushPending(url: String, _ reuse: Connection?) -> Connection? {
        let batch = pending.withLock { batch in defer { batch.removeAll() }; return batch }
        guard !batch.isEmpty else { return reuse }
        do {
            let connection = try reuse.flatMap { $0.isBroken ? nil : $0 } ?? Connection.connect(url, applicationName: "dualhook-counters")
            let keys = Array(batch.keys)
            try connection.sql("""
                INSERT INTO process_counters (process, name, labels, value)
                SELECT \(process), n, l, v FROM unnest(\(keys.map(\.name))::text[], \(keys.map(\.labels))::text[], \(keys.map { batch[$0]! })::bigint[]) AS t(n, l, v)
                ON CONFLICT (process, name, labels) DO UPDATE SET value = process_counters.value + excluded.value, updated_at = now()
                """)
            return connection
        } catch {
            pending.withLock { current in for (key, value) in batch { current[key, default: 0] += value } }
            logger.debug("counters not flushed", ["error": "\(error)"])
            reuse?.close()
            return nil
        }
    }

    /// What every process counted, for `/metrics`: `name{labels} value` lines with their HELP.
    static func render(on connection: Connection) throws -> String {
        let help = [
            "dualhook_event_deliveries_total": "Event delivery attempts by outcome (delivered, retry, failed).",
            "dualhook_management_forwards_total": "Forwards of Meta's management changes to tenants by outcome (delivered, retry, failed).",
            "dualhook_onboarding_outcomes_total": "Onboarding sessions that ended, by outcome and reason.",
            Counters.claimLatency: "How long due jobs waited to be claimed by a worker, by queue (seconds).",
        ]
        var text = ""
        var current = ""
        for row in try connection.sql("""
            SELECT name, labels, sum(value)::bigint FROM process_counters GROUP BY name, labels
            -- A histogram's buckets in increasing order of `le`, as the exposition format asks.
            ORDER BY name, regexp_replace(labels, ',?le="[^"]*"', ''),
                     CASE WHEN labels LIKE '%le="+Inf"%' THEN 'Infinity'::float8
                          ELSE substring(labels FROM 'le="([0-9.]+)"')::float8 END NULLS FIRST
            """).rows {
            let name: String = try row.decode(at: 0)
            let labels: String = try row.decode(at: 1)
            let value = try row.decode(Int64.self, at: 2)
            // The histogram's three series under one family (its sum is kept in microseconds).
            let family = name.hasPrefix(Counters.claimLatency) ? Counters.claimLatency : name
            if family != current {
                current = family
                text += "# HELP \(family) \(help[family] ?? family)\n# TYPE \(family) \(family == name ? "counter" : "histogram")\n"
            }
            let shown = name == Counters.claimLatency + "_sum" ? String(Double(value) / 1_000_000) : String(value)
            text += "\(name)\(labels.isEmpty ? "" : "{\(labels)}") \(shown)\n"
        }
        return text
    }
}
