-- The engine's boundary, in SQL.
--
-- Job kinds as the engine knows them: what a kind's queue, priority, attempts and timeout are.
-- Workers publish their registry here when they start, so SQL that enqueues (a trigger, a
-- bulk INSERT … SELECT) names only the kind and its arguments through job_enqueue, and never
-- copies the kind's settings.
CREATE TABLE job_kinds (
    kind            text PRIMARY KEY,
    queue           text NOT NULL,
    priority        integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL CHECK (max_attempts > 0),
    timeout_seconds integer NOT NULL CHECK (timeout_seconds > 0),
    published_at    timestamptz NOT NULL DEFAULT now()
);

-- The kind the events trigger uses exists before any worker has started.
INSERT INTO job_kinds (kind, queue, max_attempts, timeout_seconds) VALUES ('events.deliver', 'events', 7, 20)
ON CONFLICT (kind) DO NOTHING;

-- Enqueues one job of a published kind; answers its id, or NULL when a live job holds the
-- unique key. An unknown kind is an error, not a job no worker would ever run.
CREATE FUNCTION job_enqueue(p_kind text, p_args jsonb, p_unique_key text DEFAULT NULL, p_delay_seconds float8 DEFAULT 0)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    k job_kinds;
    new_id bigint;
BEGIN
    SELECT * INTO k FROM job_kinds WHERE kind = p_kind;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job_enqueue: job kind "%" is not published by any worker', p_kind USING ERRCODE = '22023';
    END IF;
    INSERT INTO jobs (queue, kind, args, priority, run_at, max_attempts, timeout_seconds, unique_key)
    VALUES (k.queue, p_kind, p_args, k.priority, now() + make_interval(secs => p_delay_seconds), k.max_attempts,
            k.timeout_seconds, p_unique_key)
    ON CONFLICT (unique_key) WHERE state IN ('available', 'running') DO NOTHING
    RETURNING id INTO new_id;
    RETURN new_id;
END $$;

-- Every event gets its delivery job in the transaction that wrote it. The unique key is
-- DeliverEvent's (`deliver:<event id>`), which redelivery and settling look for.
CREATE OR REPLACE FUNCTION events_enqueue_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM job_enqueue('events.deliver', jsonb_build_object('eventId', n.id, 'accountId', n.account_id), 'deliver:' || n.id)
    FROM new_events n;
    RETURN NULL;
END $$;

-- Counts of jobs by queue and state, kept as roll-ups so /metrics and `jobs stats` never count
-- the table. Each statement that changes jobs appends its net change to job_count_deltas (an
-- INSERT, so writers never wait on one another's counter row); a worker folds the deltas into
-- job_counts every few seconds. A count is job_counts plus the deltas not yet folded.
CREATE TABLE job_counts (
    queue text NOT NULL,
    state text NOT NULL,
    n     bigint NOT NULL,
    PRIMARY KEY (queue, state)
);
CREATE TABLE job_count_deltas (
    queue text NOT NULL,
    state text NOT NULL,
    delta bigint NOT NULL
);

CREATE FUNCTION jobs_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas (queue, state, delta) SELECT queue, state, count(*) FROM new_jobs GROUP BY queue, state;
    RETURN NULL;
END $$;

CREATE FUNCTION jobs_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas (queue, state, delta)
    SELECT queue, state, sum(d) FROM (
        SELECT queue, state, -1 AS d FROM old_jobs UNION ALL SELECT queue, state, 1 FROM new_jobs) moved
    GROUP BY queue, state HAVING sum(d) <> 0;
    RETURN NULL;
END $$;

CREATE FUNCTION jobs_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas (queue, state, delta) SELECT queue, state, -count(*) FROM old_jobs GROUP BY queue, state;
    RETURN NULL;
END $$;

CREATE FUNCTION jobs_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM job_counts;
    DELETE FROM job_count_deltas;
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_count_inserted AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION jobs_count_inserted();
CREATE TRIGGER jobs_count_updated AFTER UPDATE ON jobs
    REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION jobs_count_updated();
CREATE TRIGGER jobs_count_deleted AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS old_jobs FOR EACH STATEMENT EXECUTE FUNCTION jobs_count_deleted();
CREATE TRIGGER jobs_count_truncated AFTER TRUNCATE ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_count_truncated();

-- The starting counts, taken while the triggers' creation holds writers off the table.
INSERT INTO job_counts (queue, state, n) SELECT queue, state, count(*) FROM jobs GROUP BY queue, state;
