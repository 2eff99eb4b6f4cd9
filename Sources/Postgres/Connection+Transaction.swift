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
    /// rethrown. Nothing of a failed body is ever half-written.
    @discardableResult
    public func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        guard !isInTransaction else {
            throw PostgresError(.nestedTransaction, "transaction() inside a transaction: its COMMIT would end the outer one early")
        }
        // BEGIN goes out with the first statement, COMMIT with the statements kept for it.
        beginPending = true
        inManagedTransaction = true
        defer { inManagedTransaction = false }
        deferredStatements.removeAll()
        commitActions.removeAll()
        let value: T
        do {
            value = try body(self)
        } catch {
            commitActions.removeAll()
            deferredStatements.removeAll()
            if beginPending {
                beginPending = false  // nothing was sent: nothing to roll back
            } else if !isBroken {
                statementTimeoutKnown = false  // a SET sent with the BEGIN is undone too
                _ = try? execute("ROLLBACK")
            }
            throw error
        }
        do {
            try commit()
        } catch {
            commitActions.removeAll()
            statementTimeoutKnown = false
            if !isBroken && isInTransaction { _ = try? execute("ROLLBACK") }
            throw error
        }
        let actions = commitActions
        commitActions.removeAll()
        for action in actions { action() }
        return value
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
            if PQtransactionStatus(handle) == PQTRANS_INERROR { statementTimeoutKnown = false }
            try execute("COMMIT")
        } else {
            _ = try run(kept + [.commit])
        }
    }
}
