-- Slots kept for an account's other endpoints starved every endpoint once the account had
-- more enabled endpoints than slots. The rule kept one slot free for each other endpoint
-- holding none, and applied it to a taker holding none too: with 10 endpoints and 8 slots,
-- 7 were kept for the other 9, so one delivery of the account ran at a time, and one slow
-- endpoint held up all of them (found in a trial: a healthy endpoint got its event 15–35 s
-- late behind an endpoint answering after 20 s).
--
-- The slots kept free are for endpoints holding none, so an endpoint holding none now takes
-- any free slot; only an endpoint that already holds one leaves a slot free for each sibling
-- holding none (up to `p_limit - 1`), so a slow endpoint still never holds the slots its
-- siblings need.
CREATE OR REPLACE FUNCTION event_slot_take(p_job bigint, p_account text, p_endpoint text, p_limit int, p_seconds float8, p_rate int)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    busy int;
    mine int;
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
           count(*) FILTER (WHERE s.job_id <> p_job AND s.held_until >= now() AND s.endpoint_id = p_endpoint),
           (array_agg(s.n ORDER BY s.job_id IS NOT DISTINCT FROM p_job DESC, s.n)
                FILTER (WHERE s.n <= p_limit AND (s.job_id IS NULL OR s.held_until < now() OR s.job_id = p_job)))[1],
           bool_or(s.n = p_limit),
           bool_or(s.job_id = p_job),
           (SELECT LEAST(count(*), p_limit - 1) FROM event_endpoints q
            WHERE q.account_id = p_account AND q.id <> p_endpoint AND q.status = 'enabled'
              AND NOT EXISTS (SELECT 1 FROM event_slots h
                              WHERE h.account_id = p_account AND h.endpoint_id = q.id
                                AND h.job_id <> p_job AND h.held_until >= now()))
    INTO busy, mine, free_n, made, own, kept
    FROM event_slots s WHERE s.account_id = p_account;
    IF made IS NOT TRUE THEN
        -- The account's first take at this limit: its rows, then the take.
        INSERT INTO event_slots (account_id, n) SELECT p_account, g FROM generate_series(1, p_limit) g
        ON CONFLICT DO NOTHING;
        RETURN event_slot_take(p_job, p_account, p_endpoint, p_limit, p_seconds, p_rate);
    END IF;
    IF busy >= p_limit OR free_n IS NULL OR (mine > 0 AND busy >= p_limit - kept) THEN
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
