-- Two costs of event delivery measured per delivery under load (`ops/bench/events` with
-- pg_stat_statements and perf), both paid in Postgres' CPU, which bounds the rate:
--
-- 1. A delivery's slot was a row inserted before its request and deleted after it. At a
--    thousand deliveries a second that left thousands of dead rows and index entries, which
--    every take counted through until a vacuum came. An account now has a fixed set of slot
--    rows (made on its first take), taken and given back by updates of columns no index
--    covers: heap-only updates, whose old versions the next reader of the page prunes, so a
--    take reads the account's few rows and nothing else.
-- 2. The event's summary was written once per changed delivery, with a plan made for each
--    call. A statement that changes several deliveries (a batch of attempts) now writes each
--    of their events once, from the statement's transition tables.
--
-- `event_delivery_slots` and the five-argument `event_slot_take` stay for workers of the
-- earlier release until they are restarted (migrations run before the restart); a later
-- migration drops them. While both releases run, each counts only its own slots.

-- Slot `n` (1…limit) of an account: free when `job_id` is null or its lease has ended.
CREATE UNLOGGED TABLE event_slots (
    account_id   text NOT NULL,
    n            integer NOT NULL,
    job_id       bigint,
    endpoint_id  text,
    held_until   timestamptz,
    PRIMARY KEY (account_id, n)
) WITH (fillfactor = 50);

-- Takes a slot for a delivery: 'ok', 'slots' (the account's `p_limit` deliveries are in flight,
-- or the rest are kept for its other endpoints) or 'rate' (the endpoint, whose limit is
-- `p_rate`, started that many deliveries this second). Each other enabled endpoint of the
-- account that holds no slot keeps one free (up to `p_limit - 1` of them), so a slow endpoint
-- never holds the slots its siblings need. A slot this job still holds (a job handed back at
-- a worker's shutdown and claimed again before its slot's lease ended) is taken again first,
-- or given back when the job gets none. Slots above a lowered limit still count while held.
-- Takers of one account are serialised by a transaction-scoped advisory lock, held for the
-- few statements here.
CREATE FUNCTION event_slot_take(p_job bigint, p_account text, p_endpoint text, p_limit int, p_seconds float8, p_rate int)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    busy int;
    free_n int;
    made boolean;
    own boolean;
    kept int;
    outcome text := 'ok';
    now_second bigint := floor(extract(epoch FROM clock_timestamp()))::bigint;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_seconds IS NULL THEN
        RAISE EXCEPTION 'event_slot_take: a limit of at least 1 and a lease are needed';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('dualhook.event_slots'), hashtext(p_account));
    SELECT count(*) FILTER (WHERE s.job_id <> p_job AND s.held_until >= now()),
           (array_agg(s.n ORDER BY s.job_id IS NOT DISTINCT FROM p_job DESC, s.n)
                FILTER (WHERE s.n <= p_limit AND (s.job_id IS NULL OR s.held_until < now() OR s.job_id = p_job)))[1],
           bool_or(s.n = p_limit),
           bool_or(s.job_id = p_job),
           (SELECT LEAST(count(*), p_limit - 1) FROM event_endpoints q
            WHERE q.account_id = p_account AND q.id <> p_endpoint AND q.status = 'enabled'
              AND NOT EXISTS (SELECT 1 FROM event_slots h
                              WHERE h.account_id = p_account AND h.endpoint_id = q.id
                                AND h.job_id <> p_job AND h.held_until >= now()))
    INTO busy, free_n, made, own, kept
    FROM event_slots s WHERE s.account_id = p_account;
    IF made IS NOT TRUE THEN
        -- The account's first take at this limit: its rows, then the take.
        INSERT INTO event_slots (account_id, n) SELECT p_account, g FROM generate_series(1, p_limit) g
        ON CONFLICT DO NOTHING;
        RETURN event_slot_take(p_job, p_account, p_endpoint, p_limit, p_seconds, p_rate);
    END IF;
    IF busy >= p_limit - kept OR free_n IS NULL THEN
        outcome := 'slots';
    ELSIF p_rate IS NOT NULL THEN
        DELETE FROM event_endpoint_rates WHERE endpoint_id = p_endpoint AND second < now_second;
        INSERT INTO event_endpoint_rates AS r (endpoint_id, second, started) VALUES (p_endpoint, now_second, 1)
        ON CONFLICT (endpoint_id, second) DO UPDATE SET started = r.started + 1
        WHERE r.started < p_rate;
        IF NOT FOUND THEN
            outcome := 'rate';
        END IF;
    END IF;
    IF outcome <> 'ok' THEN
        IF own THEN
            UPDATE event_slots SET job_id = NULL, endpoint_id = NULL, held_until = NULL
            WHERE account_id = p_account AND job_id = p_job;
        END IF;
        RETURN outcome;
    END IF;
    UPDATE event_slots SET job_id = p_job, endpoint_id = p_endpoint, held_until = now() + make_interval(secs => p_seconds)
    WHERE account_id = p_account AND n = free_n;
    RETURN 'ok';
END $$;

-- Inserted and deleted deliveries are still summarised row by row (an event's deliveries are
-- written by one statement with the event); updates once per event and statement. Counters
-- still change by increments on the locked row.
DROP TRIGGER event_deliveries_summarise ON event_deliveries;
CREATE TRIGGER event_deliveries_summarise AFTER INSERT OR DELETE ON event_deliveries
    FOR EACH ROW EXECUTE FUNCTION event_deliveries_summarise();

CREATE FUNCTION event_deliveries_summarise_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The events in id order first, so two statements writing summaries of the same events
    -- take those locks in one order. Their deliveries are already locked by then: a batch of
    -- attempts avoids a circle through them by locking its events before its deliveries.
    PERFORM 1 FROM events WHERE id IN (SELECT event_id FROM new_deliveries) ORDER BY id FOR NO KEY UPDATE;
    UPDATE events e SET
        deliveries_open = e.deliveries_open + c.d_open,
        deliveries_failed = e.deliveries_failed + c.d_failed,
        attempts = e.attempts + c.d_attempts,
        delivery_status = CASE WHEN e.deliveries = 0 THEN 'no_endpoint'
                               WHEN e.deliveries_failed + c.d_failed > 0 THEN 'failed'
                               WHEN e.deliveries_open + c.d_open > 0 THEN 'pending'
                               ELSE 'delivered' END,
        delivered_at = CASE WHEN e.deliveries > 0 AND e.deliveries_failed + c.d_failed = 0 AND e.deliveries_open + c.d_open = 0
                            THEN COALESCE(c.delivered, e.delivered_at,
                                          (SELECT max(o.delivered_at) FROM event_deliveries o WHERE o.event_id = e.id)) END,
        -- A delivery left pending names the next attempt (the earliest, when several are).
        next_attempt_at = CASE WHEN c.became_pending THEN c.next_at
                               WHEN e.deliveries_open + c.d_open = 0 THEN NULL ELSE e.next_attempt_at END
    FROM (SELECT n.event_id,
                 sum((n.status IN ('pending', 'held'))::int - (o.status IN ('pending', 'held'))::int) AS d_open,
                 sum((n.status = 'failed')::int - (o.status = 'failed')::int) AS d_failed,
                 sum(n.attempts - o.attempts) AS d_attempts,
                 max(n.delivered_at) FILTER (WHERE n.status = 'delivered') AS delivered,
                 bool_or(n.status = 'pending') AS became_pending,
                 min(n.next_attempt_at) FILTER (WHERE n.status = 'pending') AS next_at
          FROM new_deliveries n JOIN old_deliveries o ON o.event_id = n.event_id AND o.endpoint_id = n.endpoint_id
          WHERE n.status <> o.status OR n.attempts <> o.attempts
             OR n.next_attempt_at IS DISTINCT FROM o.next_attempt_at OR n.delivered_at IS DISTINCT FROM o.delivered_at
          GROUP BY n.event_id) c
    WHERE e.id = c.event_id;
    RETURN NULL;
END $$;
CREATE TRIGGER event_deliveries_summarise_updates AFTER UPDATE ON event_deliveries
    REFERENCING OLD TABLE AS old_deliveries NEW TABLE AS new_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION event_deliveries_summarise_updates();
