import CPostgres
import Foundation

/// One libpq connection.
///
/// Statements are sent with bound parameters only (`$1`, `$2`, …) and are prepared once per
/// connection and reused. Calls block the calling thread, so connections are used from threads
/// the project owns, never from Swift Concurrency's cooperative pool.
///
/// `@unchecked Sendable`: a connection may move between threads, but it is used by one thread
/// at a time — it is either owned by a single thread (listener, migrator) or lent out
/// exclusively by `ConnectionPool`.
public final class Connection: @unchecked Sendable {
    let handle: OpaquePointer
    var preparedStatements: [String: String] = [:]
    private(set) var closed = false
    /// Actions to run once the open transaction commits (dropped when it rolls back).
    var commitActions: [@Sendable () -> Void] = []
    /// A transaction was begun but its `BEGIN` waits to go out with its first statement.
    var beginPending = false
    /// Inside `transaction()`, whose COMMIT sends what `beforeCommit` kept.
    var inManagedTransaction = false
    /// Statements to send with the `COMMIT` (see `beforeCommit`).
    var deferredStatements: [Statement] = []
    /// The managed transaction was committed by `commit(with:)` before its body returned.
    var committedEarly = false
    /// The `statement_timeout` (milliseconds; nil: the server's default) the next statements
    /// run under. Applied lazily, in the round trip of the next statement that starts outside
    /// a transaction, so lending a connection with a deadline costs no round trip of its own.
    public var statementTimeout: Int?
    var appliedStatementTimeout: Int?
    /// False after a failure or a rollback, which can undo a `SET` sent in the same transaction.
    var statementTimeoutKnown = true

    /// Opens a connection from a URL (`postgres://…`) or a conninfo string (`host=… dbname=…`).
    /// Every session runs in UTC with ISO dates, which the timestamp decoder relies on.
    public static func connect(_ url: String, applicationName: String = "dualhook", connectTimeout: Int = 5) throws -> Connection {
        // Defaults first, the caller's string last: libpq lets later keywords win, so anything
        // the URL sets itself is kept.
        let keywords = ["connect_timeout", "application_name", "options", "dbname"]
        let values = [String(connectTimeout), applicationName, "-c TimeZone=UTC -c DateStyle=ISO,YMD", url]
        let handle: OpaquePointer? = withCStrings(keywords) { k in
            withCStrings(values) { v in
                PQconnectdbParams(k, v, 1)
            }
        }
        guard let handle else { throw PostgresError(.connectionFailed, "out of memory") }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Connection.errorMessage(handle)
            PQfinish(handle)
            throw PostgresError(.connectionFailed, message)
        }
        dh_pq_quiet_notices(handle)
        return Connection(handle: handle)
    }

    private init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        PQfinish(handle)
    }

    /// True when the session is gone (server restart, network cut); a broken connection is
    /// never reused.
    public var isBroken: Bool { closed || PQstatus(handle) != CONNECTION_OK }

    /// Whether the server ended, or is ending, this idle session: a terminated backend (an
    /// operator's `pg_terminate_backend`, an idle-connection killer) or a server shutting down
    /// sends its error and closes the socket while the connection waits in a pool, and libpq
    /// notices only when the next statement fails. A zero-timeout `poll` of the socket sees it
    /// without a round trip. An idle session that LISTENs on nothing has nothing to read unless
    /// the server said something unasked, and the error often arrives before the socket's end,
    /// so anything to read counts: the rare harmless message (a parameter's new value on a
    /// standby's promotion) costs only a fresh connection.
    public var endedWhileIdle: Bool {
        if isBroken { return true }
        let socket = PQsocket(handle)
        guard socket >= 0 else { return true }
        var waiting = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        // -1 (an interrupted call) says nothing about the session: it is kept.
        return poll(&waiting, 1, 0) > 0
    }

    /// True when a transaction is open (or failed and not yet rolled back).
    public var isInTransaction: Bool {
        if beginPending { return true }
        if closed { return false }  // its handle is freed
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// The backend's process id, for `pg_terminate_backend` and diagnostics.
    public var backendPID: Int32 { PQbackendPID(handle) }

    /// Runs one statement with bound parameters and returns its rows. Not public: code outside
    /// this module writes `sql("… \(value) …")` (`PostgresQuery`), which numbers the
    /// parameters itself, so none is numbered by hand.
    @discardableResult
    func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws -> QueryResult {
        let texts: [String?] = parameters.map { $0?.postgresText }
        let lead = leadingStatements()
        if !lead.isEmpty {
            // The transaction's first statement takes its BEGIN along, and a changed timeout
            // (`run` checks the parameters).
            return try run(lead + [Statement(sql: sql, parameters: texts)]).last!
        }
        try refuseClosed()
        try Connection.refuseNUL(texts)
        let name = try preparedName(for: sql, parameterCount: parameters.count)
        let result: OpaquePointer? = withOptionalCStrings(texts) { values in
            PQexecPrepared(handle, name, Int32(texts.count), values, nil, nil, 0)
        }
        return try check(result)
    }

    /// Runs SQL text with no parameters through the simple protocol; several statements
    /// separated by semicolons are allowed (migrations, `BEGIN`, `LISTEN`).
    @discardableResult
    public func execute(_ sql: String) throws -> QueryResult {
        try refuseClosed()
        let lead = leadingStatements()
        if !lead.isEmpty { _ = try run(lead) }
        return try check(PQexec(handle, sql))
    }

    /// Quotes an identifier (a channel or table name) for the rare statement that cannot take
    /// it as a parameter.
    public func quoteIdentifier(_ identifier: String) throws -> String {
        guard let quoted = PQescapeIdentifier(handle, identifier, identifier.utf8.count) else {
            throw PostgresError(.server, Connection.errorMessage(handle))
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    private func preparedName(for sql: String, parameterCount: Int) throws -> String {
        if let name = preparedStatements[sql] { return name }
        let name = "dh\(preparedStatements.count + 1)"
        let result = PQprepare(handle, name, sql, Int32(parameterCount), nil)
        _ = try check(result)
        preparedStatements[sql] = name
        return name
    }

    func check(_ result: OpaquePointer?) throws -> QueryResult {
        guard let result else {
            throw PostgresError(isBroken ? .connectionLost : .server, Connection.errorMessage(handle))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN, PGRES_COPY_OUT:
            return QueryResult(result)
        default:
            let field = { (code: Character) -> String? in
                guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
                return String(cString: value)
            }
            let sqlState = field("C")
            let message = field("M") ?? Connection.errorMessage(handle)
            let error = PostgresError(
                isBroken ? .connectionLost : .server, message,
                sqlState: sqlState, detail: field("D"), constraint: field("n"))
            PQclear(result)
            throw error
        }
    }

    static func errorMessage(_ handle: OpaquePointer) -> String {
        guard let message = PQerrorMessage(handle) else { return "unknown libpq error" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension Connection {
    /// A closed connection's handle is freed: nothing may reach libpq through it again.
    func refuseClosed() throws {
        if closed { throw PostgresError(.connectionLost, "the connection was closed") }
    }

    /// Throws `invalidParameter` for a value holding U+0000, naming its position, not its text.
    static func refuseNUL(_ texts: [String?]) throws {
        if let index = texts.firstIndex(where: { $0.map(holdsNUL) == true }) {
            throw PostgresError(.invalidParameter, "parameter $\(index + 1) holds U+0000, which a text parameter cannot carry")
        }
    }

    /// With `memchr` over the string's bytes: the generic `contains` over every parameter of
    /// every statement was 3 % of the event worker's instructions (callgrind).
    static func holdsNUL(_ text: String) -> Bool {
        text.utf8.withContiguousStorageIfAvailable { $0.isEmpty ? false : memchr($0.baseAddress!, 0, $0.count) != nil } ?? text.utf8.contains(0)
    }
}

/// Calls `body` with a C array of C strings that lives for the duration of the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    withOptionalCStrings(strings.map { Optional($0) }) { pointer in
        body(pointer)
    }
}

/// Calls `body` with a NULL-terminated C array of C strings, `nil` entries passed as NULL.
func withOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0)! } }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { buffer in
        buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { body($0) }
    }
}
