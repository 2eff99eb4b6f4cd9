import CPostgres

extension Connection {
    /// Runs `action` once what this connection wrote so far is committed: at the end of the
    /// open `transaction`, or now when there is none (the last statement committed on its own).
    /// A rolled-back transaction drops its actions. For work that must not happen inside a
    /// transaction, such as a wake-up that would otherwise hold the commit.
    public func afterCommit(_ action: @escaping @Sendable () -> Void) {
        if isInTransaction { commitActions.append(action) } else { action() }
    }

    /// Runs `body` inside `BEGIN … COMMIT`; any thrown error rolls the transaction back and is
    /// rethrown. Nothing of a failed body is ever half-written, unless the body ended the
    /// transaction itself with `commit(with:)`: what it committed stays.
    @discardableResult
    public func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        guard !isInTransaction && !inManagedTransaction else {
            throw PostgresError(.nestedTransaction, "transaction() inside a transaction: its COMMIT would end the outer one early")
        }
        // BEGIN goes out with the first statement, COMMIT with the statements kept for it.
        beginPending = true
        inManagedTransaction = true
        committedEarly = false
        defer { inManagedTransaction = false; committedEarly = false }
        deferredStatements.removeAll()
        commitActions.removeAll()
        let value: T
        do {
            value = try body(self)
        } catch {
            deferredStatements.removeAll()
            if committedEarly {
                // Committed already: nothing to undo, and what was committed is announced.
                runCommitActions()
                throw error
            }
            commitActions.removeAll()
            if beginPending {
                beginPending = false  // nothing was sent: nothing to roll back
            } else if !isBroken {
                statementTimeoutKnown = false  // a SET sent with the BEGIN is undone too
                _ = try? execute("ROLLBACK")
            }
            throw error
        }
        // A connection already known broken sends nothing: its failure leaves no doubt.
        let couldSend = !isBroken
        do {
            if !committedEarly { try commit() }
        } catch {
            commitActions.removeAll()
            statementTimeoutKnown = false
            if !isBroken && isInTransaction { _ = try? execute("ROLLBACK") }
            throw couldSend ? PostgresError.duringCommit(error) : error
        }
        runCommitActions()
        return value
    }

    private func runCommitActions() {
        let actions = commitActions
        commitActions.removeAll()
        for action in actions { action() }
    }

    /// Ends the open `transaction` with these statements, sent with its `COMMIT` (and its
    /// `BEGIN` and the statements kept for it, when not sent yet) in one round trip, and
    /// answers their results: for a body whose last statements decide its answer. After it
    /// the transaction is over: after-commit actions registered before run when the body
    /// returns, later ones at once, and `beforeCommit` refuses. If a statement fails, nothing
    /// of the transaction is kept and the error is thrown: let it leave the body, which then
    /// rolls back.
    public func commit(with queries: [PostgresQuery]) throws -> [QueryResult] {
        guard inManagedTransaction, !committedEarly else {
            throw PostgresError(.nestedTransaction, "commit(with:) outside a transaction, or after it was committed")
        }
        let statements = queries.map(Statement.init)
        let kept = deferredStatements
        deferredStatements.removeAll()
        let lead = leadingStatements()
        let couldSend = !isBroken
        let results: [QueryResult]
        do {
            results = try run(lead + kept + statements + [.commit])
        } catch {
            throw couldSend ? PostgresError.duringCommit(error) : error
        }
        committedEarly = true
        return Array(results.dropFirst(lead.count + kept.count).prefix(statements.count))
    }

    /// COMMIT, with the statements kept for it (and BEGIN when nothing was sent yet).
    private func commit() throws {
        let kept = deferredStatements
        deferredStatements.removeAll()
        if beginPending {
            if kept.isEmpty {  // an empty transaction
                beginPending = false
                return
            }
            _ = try run(leadingStatements() + kept + [.commit])
        } else if kept.isEmpty {
            // COMMIT of a transaction that failed and was carried on answers ROLLBACK: a SET
            // sent with its BEGIN is undone then.
            if !closed && PQtransactionStatus(handle) == PQTRANS_INERROR { statementTimeoutKnown = false }
            try execute("COMMIT")
        } else {
            _ = try run(kept + [.commit])
        }
    }
}
