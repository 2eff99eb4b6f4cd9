-- The job queue: every piece of outbound work is a row here, claimed with FOR UPDATE SKIP LOCKED.
CREATE TABLE jobs (
    id              bigserial PRIMARY KEY,
    queue           text        NOT NULL,
    kind            text        NOT NULL,
    args            jsonb       NOT NULL DEFAULT '{}',
    state           text        NOT NULL DEFAULT 'available'
                    CHECK (state IN ('available', 'running', 'completed', 'discarded', 'cancelled')),
    priority        smallint    NOT NULL DEFAULT 0,
    run_at          timestamptz NOT NULL DEFAULT now(),
    attempt         integer     NOT NULL DEFAULT 0,
    max_attempts    integer     NOT NULL DEFAULT 20 CHECK (max_attempts > 0),
    timeout_seconds integer     NOT NULL DEFAULT 60 CHECK (timeout_seconds > 0),
    locked_by       text,
    locked_until    timestamptz,
    unique_key      text,
    last_error      text,
    errors          jsonb       NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempted_at    timestamptz,
    finalized_at    timestamptz
);

-- The claim: the oldest due job of a queue, by priority.
CREATE INDEX jobs_claim ON jobs (queue, priority, run_at, id) WHERE state = 'available';
-- The reaper: running jobs whose lease ran out.
CREATE INDEX jobs_leases ON jobs (locked_until) WHERE state = 'running';
-- Idempotent enqueue: one live job per unique key.
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE state IN ('available', 'running');
-- Pruning finished jobs.
CREATE INDEX jobs_finalized ON jobs (finalized_at) WHERE finalized_at IS NOT NULL;

-- Periods already enqueued by schedulers: any number of `dualhook schedule` processes insert
-- here first, and only the one whose insert lands enqueues the sweep for that period.
CREATE TABLE job_periods (
    name         text        NOT NULL,
    period_start timestamptz NOT NULL,
    job_id       bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, period_start)
);

-- The jobs table churns (every job is inserted, updated twice and later deleted): vacuum it
-- more eagerly than the default 20 % of dead rows.
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02,
                      autovacuum_vacuum_insert_scale_factor = 0.05);
