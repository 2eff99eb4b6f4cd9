import CPostgres

/// Several statements sent together and answered together: one round trip instead of one each
/// (libpq's pipeline mode, https://www.postgresql.org/docs/current/libpq-pipeline-mode.html).
/// The server runs them in order, each with its own snapshot; after a failure the rest are
/// skipped, and the first error is thrown. On a machine where Postgres and its clients share
/// the cores, a round trip (two context switches and a wake-up on each side) costs about as
/// much as a short statement, so transactions send `BEGIN` with their first statement and
/// `COMMIT` with their last known one.
extension Connection {
    /// Runs the statements in one round trip (after `BEGIN` when the open transaction has not
    /// started yet) and answers their results in order.
    @discardableResult
    public func pipeline(_ queries: [PostgresQuery]) throws -> [QueryResult] {
        let statements = queries.map(Statement.init)
        let lead = leadingStatements()
        return Array(try run(lead + statements).dropFirst(lead.count))
    }

    /// A statement of the open transaction whose result nobody reads: it is sent with the
    /// `COMMIT`, in the same round trip; if it fails, nothing of the transaction is kept.
    /// Outside a transaction it runs now.
    public func beforeCommit(_ query: PostgresQuery) throws {
        if committedEarly {
            throw PostgresError(.nestedTransaction, "beforeCommit after commit(with:) ended the transaction")
        }
        if inManagedTransaction {
            deferredStatements.append(Statement(query))
        } else {
            try sql(query)
        }
    }

    /// What must go ahead of the next statement: a changed `statement_timeout` (only where no
    /// transaction is open on the server, so no rollback can undo it unseen) and a pending
    /// `BEGIN`. Taking them marks them sent; `run` forgets the timeout again if they fail.
    func leadingStatements() -> [Statement] {
        var lead: [Statement] = []
        if closed { return lead }  // `run` refuses it
        if (!statementTimeoutKnown || statementTimeout != appliedStatementTimeout) && PQtransactionStatus(handle) == PQTRANS_IDLE {
            lead.append(Statement(sql: statementTimeout.map { "SET statement_timeout = \($0)" } ?? "RESET statement_timeout",
                                  parameters: [], unnamed: true, setsTimeout: true))
        }
        if beginPending {
            beginPending = false
            lead.append(.begin)
        }
        return lead
    }

    struct Statement {
        let sql: String
        let parameters: [String?]
        /// Transaction control goes as an unnamed statement: nothing to prepare.
        var unnamed = false
        /// A `SET`/`RESET statement_timeout` of `leadingStatements`.
        var setsTimeout = false

        static let begin = Statement(sql: "BEGIN", parameters: [], unnamed: true)
        static let commit = Statement(sql: "COMMIT", parameters: [], unnamed: true)
    }

    /// Sends the statements with one sync and reads every answer. A statement not yet prepared
    /// on this connection is prepared inside the pipeline, after the leading `SET` and `BEGIN`,
    /// so preparing it runs under the timeout it belongs to.
    func run(_ statements: [Statement]) throws -> [QueryResult] {
        try refuseClosed()
        do {
            for statement in statements { try Connection.refuseNUL(statement.parameters) }
        } catch {
            statementTimeoutKnown = false  // a SET taken as leading was not sent
            throw error
        }
        guard PQenterPipelineMode(handle) == 1 else { throw PostgresError(.server, Connection.errorMessage(handle)) }
        // A connection that cannot leave pipeline mode is closed, so the pool replaces it.
        defer { if !leavePipeline() { close() } }
        // Each send answers one result: a statement's, or a preparation's (recorded when it
        // succeeded: a prepared statement outlives a failed transaction).
        var sends = 0
        var preparationAt: [Int: (sql: String, name: String)] = [:]
        var newNames: [(sql: String, name: String)] = []
        for statement in statements {
            var name: String?
            if !statement.unnamed {
                if let known = preparedStatements[statement.sql] ?? newNames.first(where: { $0.sql == statement.sql })?.name {
                    name = known
                } else {
                    let fresh = "dh\(preparedStatements.count + newNames.count + 1)"
                    guard PQsendPrepare(handle, fresh, statement.sql, Int32(statement.parameters.count), nil) == 1 else {
                        throw sendFailed()
                    }
                    preparationAt[sends] = (statement.sql, fresh)
                    sends += 1
                    newNames.append((statement.sql, fresh))
                    name = fresh
                }
            }
            let sent: Int32 = withOptionalCStrings(statement.parameters) { values in
                if let name {
                    return PQsendQueryPrepared(handle, name, Int32(statement.parameters.count), values, nil, nil, 0)
                }
                return PQsendQueryParams(handle, statement.sql, 0, nil, nil, nil, nil, 0)
            }
            guard sent == 1 else { throw sendFailed() }
            sends += 1
        }
        guard PQpipelineSync(handle) == 1 else { throw PostgresError(isBroken ? .connectionLost : .server, Connection.errorMessage(handle)) }
        // Each send answers one result and a NULL; the sync answers PGRES_PIPELINE_SYNC.
        var results: [QueryResult] = []
        var firstError: Error?
        var index = 0
        var nulls = 0
        while true {
            guard let result = PQgetResult(handle) else {
                // One NULL ends each send's results; more than that and no sync is a lost session.
                nulls += 1
                if isBroken || nulls > sends + 1 {
                    throw PostgresError(.connectionLost, Connection.errorMessage(handle))
                }
                continue
            }
            let status = PQresultStatus(result)
            if status == PGRES_PIPELINE_SYNC {
                PQclear(result)
                break
            }
            let prepared = preparationAt[index]
            index += 1
            if status == PGRES_PIPELINE_ABORTED {
                PQclear(result)
                continue
            }
            do {
                let checked = try check(result)
                if let prepared {
                    preparedStatements[prepared.sql] = prepared.name
                } else {
                    results.append(checked)
                }
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError {
            // A failed pipeline ran as one transaction: a SET in it was undone.
            statementTimeoutKnown = false
            throw firstError
        }
        if statements.contains(where: \.setsTimeout) {
            appliedStatementTimeout = statementTimeout
            statementTimeoutKnown = true
        }
        guard results.count == statements.count else {
            throw PostgresError(.server, "a pipeline of \(statements.count) statements answered \(results.count) results")
        }
        return results
    }

    /// A send that failed: what was queued is synced so it can be drained, and the error named.
    private func sendFailed() -> PostgresError {
        let error = PostgresError(isBroken ? .connectionLost : .server, Connection.errorMessage(handle))
        _ = PQpipelineSync(handle)
        return error
    }

    /// Back to one statement at a time; anything still unread is read and dropped first.
    /// False when the connection could not leave pipeline mode (it is closed then).
    @discardableResult
    private func leavePipeline() -> Bool {
        var tries = 0
        while PQexitPipelineMode(handle) != 1 {
            tries += 1
            guard tries < 1000, !isBroken else { return false }
            if let result = PQgetResult(handle) { PQclear(result) }
        }
        return true
    }
}

extension Connection.Statement {
    init(_ query: PostgresQuery) {
        self.init(sql: query.sql, parameters: query.binds.map { $0?.postgresText })
    }
}
