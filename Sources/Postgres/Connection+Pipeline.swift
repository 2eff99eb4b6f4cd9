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
        let statements = queries.map { Statement(sql: $0.sql, parameters: $0.binds.map { $0?.postgresText }) }
        let lead = leadingStatements()
        return Array(try run(lead + statements).dropFirst(lead.count))
    }

    /// A statement of the open transaction whose result nobody reads: it is sent with the
    /// `COMMIT`, in the same round trip; if it fails, nothing of the transaction is kept.
    /// Outside a transaction it runs now.
    public func beforeCommit(_ query: PostgresQuery) throws {
        if isInTransaction {
            deferredStatements.append(Statement(sql: query.sql, parameters: query.binds.map { $0?.postgresText }))
        } else {
            try sql(query)
        }
    }

    /// What must go ahead of the next statement: a changed `statement_timeout` (only where no
    /// transaction is open on the server, so no rollback can undo it unseen) and a pending
    /// `BEGIN`. Taking them marks them sent; `run` forgets the timeout again if they fail.
    func leadingStatements() -> [Statement] {
        var lead: [Statement] = []
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

    /// Sends the statements with one sync and reads every answer.
    func run(_ statements: [Statement]) throws -> [QueryResult] {
        // Statements are prepared first (once per connection), outside the pipeline.
        let names = try statements.map { $0.unnamed ? nil : try preparedName(for: $0.sql, parameterCount: $0.parameters.count) }
        guard PQenterPipelineMode(handle) == 1 else { throw PostgresError(.server, Connection.errorMessage(handle)) }
        defer { leavePipeline() }
        for (statement, name) in zip(statements, names) {
            let sent: Int32 = withOptionalCStrings(statement.parameters) { values in
                if let name {
                    return PQsendQueryPrepared(handle, name, Int32(statement.parameters.count), values, nil, nil, 0)
                }
                return PQsendQueryParams(handle, statement.sql, 0, nil, nil, nil, nil, 0)
            }
            guard sent == 1 else { throw PostgresError(isBroken ? .connectionLost : .server, Connection.errorMessage(handle)) }
        }
        guard PQpipelineSync(handle) == 1 else { throw PostgresError(isBroken ? .connectionLost : .server, Connection.errorMessage(handle)) }
        // Each statement answers one result and a NULL; the sync answers PGRES_PIPELINE_SYNC.
        var results: [QueryResult] = []
        var firstError: Error?
        var nulls = 0
        while true {
            guard let result = PQgetResult(handle) else {
                // One NULL ends each statement's results; more than that and no sync is a lost session.
                nulls += 1
                if isBroken || nulls > statements.count + 1 {
                    throw PostgresError(.connectionLost, Connection.errorMessage(handle))
                }
                continue
            }
            let status = PQresultStatus(result)
            if status == PGRES_PIPELINE_SYNC {
                PQclear(result)
                break
            }
            if status == PGRES_PIPELINE_ABORTED {
                PQclear(result)
                continue
            }
            do {
                results.append(try check(result))
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

    /// Back to one statement at a time; anything still unread is read and dropped first.
    private func leavePipeline() {
        var tries = 0
        while PQexitPipelineMode(handle) != 1 && tries < 1000 && !isBroken {
            if let result = PQgetResult(handle) { PQclear(result) }
            tries += 1
        }
    }
}
