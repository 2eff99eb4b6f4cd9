extension Connection {
    /// Runs `body` inside `BEGIN … COMMIT`; any thrown error rolls the transaction back and is
    /// rethrown. Nothing of a failed body is ever half-written.
    @discardableResult
    public func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        try execute("BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            if !isBroken { _ = try? execute("ROLLBACK") }
            throw error
        }
        do {
            try execute("COMMIT")
        } catch {
            if !isBroken && isInTransaction { _ = try? execute("ROLLBACK") }
            throw error
        }
        return value
    }
}
