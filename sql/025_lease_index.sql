-- The lease index covered `state = 'running'`, so every statement naming that state could be
-- planned through it. With statistics taken while no job ran (an idle moment, or right after a
-- bulk enqueue) the planner counts about one running row, and planned the completer's batch as
-- a scan of the whole index joined to the batch; between vacuums that index still holds an
-- entry for every job that ran since. Measured under `ops/bench/queue` (100,000 jobs): one
-- completion of 245 jobs took 147 ms, and the drain fell to 1,653 jobs/s. Only the reaper needs
-- the index, and it asks by `locked_until`, which the claim sets and every way out of
-- `running` clears; the completer and the other state changes now find their jobs by key.
DROP INDEX jobs_leases;
CREATE INDEX jobs_leases ON jobs (locked_until) WHERE locked_until IS NOT NULL;
