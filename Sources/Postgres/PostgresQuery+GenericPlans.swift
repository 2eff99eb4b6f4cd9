extension PostgresQuery {
    /// Sent first in a pipeline or transaction: the statements after it, until it ends, run
    /// with their generic plans (`plan_cache_mode`, local to the transaction). For statements
    /// whose plan made for the values is no better (every row found by key) but costs a
    /// planning per run, or is worse because it trusts statistics that missed a state.
    /// Measured cases: the job claim and completer, and the event delivery reads and attempts.
    public static let genericPlans: PostgresQuery = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"
}
