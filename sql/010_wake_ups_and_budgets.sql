-- Wake-ups leave the hot transactions: a NOTIFY inside a transaction takes Postgres' global
-- notification lock at its commit and serialises every writer. The events trigger only queues
-- the deliveries now; the process that wrote the events wakes the `events` queue after commit
-- (JobQueue's WakeUps), at most once per queue every few milliseconds.
CREATE OR REPLACE FUNCTION events_enqueue_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO jobs (queue, kind, args, max_attempts, timeout_seconds, unique_key)
    SELECT 'events', 'events.deliver', jsonb_build_object('eventId', n.id, 'accountId', n.account_id), 7, 20, 'deliver:' || n.id
    FROM new_events n
    ON CONFLICT (unique_key) WHERE state IN ('available', 'running') DO NOTHING;
    RETURN NULL;
END $$;

-- Rate-limit windows are counters, not records: unlogged, so counting a request does not wait
-- for a WAL flush, and the request's own transaction is its only durable commit. Every front
-- process still counts in the same rows; a crash of Postgres empties the table, which gives
-- each key a fresh window at most once per crash (the documented tolerance).
ALTER TABLE rate_limit_windows SET UNLOGGED;
