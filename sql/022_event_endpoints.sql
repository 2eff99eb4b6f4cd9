-- Event endpoints: an account has several, each with its own URL, event-type and tenant filters,
-- signing secrets, rate limit, health and deliveries. The account's `event_url` is its default
-- endpoint (`is_default`), signed with the account's signing secrets as before.

-- The per-account health table of 005 becomes per-endpoint columns below.
ALTER TABLE event_endpoints RENAME TO event_endpoint_health_before;

CREATE TABLE event_endpoints (
    id                     text PRIMARY KEY DEFAULT dualhook_id('ep'),
    account_id             text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    url                    text NOT NULL,
    description            text,
    event_types            text[] NOT NULL DEFAULT '{}',
    tenant_ids             text[] NOT NULL DEFAULT '{}',
    is_default             boolean NOT NULL DEFAULT false,
    status                 text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    disabled_reason        text CHECK (disabled_reason IN ('gone', 'failing')),
    disabled_at            timestamptz,
    rate_limit_per_second  integer CHECK (rate_limit_per_second BETWEEN 1 AND 1000),
    -- Health: from the first failed attempt after a success until the next success.
    failing_since          timestamptz,
    last_error             text,
    last_success_at        timestamptz,
    -- The last `endpoint.warning` sent for this stretch of failures: 0, 1 or 3 days.
    warned_days            integer NOT NULL DEFAULT 0,
    health_updated_at      timestamptz NOT NULL DEFAULT now(),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX event_endpoints_default ON event_endpoints (account_id) WHERE is_default;
CREATE INDEX event_endpoints_account ON event_endpoints (account_id, created_at DESC, id DESC);
-- The endpoints sweep: enabled endpoints that are failing.
CREATE INDEX event_endpoints_failing ON event_endpoints (failing_since) WHERE status = 'enabled' AND failing_since IS NOT NULL;

INSERT INTO event_endpoints (account_id, url, is_default, failing_since, last_error, last_success_at, created_at)
SELECT a.id, a.event_url, true, h.failing_since, h.last_error, h.last_success_at, a.created_at
FROM accounts a LEFT JOIN event_endpoint_health_before h ON h.account_id = a.id
WHERE a.event_url IS NOT NULL;
DROP TABLE event_endpoint_health_before;

-- Secrets of the endpoints other than the default (which signs with the account's secrets),
-- sealed and bound to the endpoint; a rotated one keeps signing until `expires_at`.
CREATE TABLE event_endpoint_secrets (
    id             bigserial PRIMARY KEY,
    endpoint_id    text NOT NULL REFERENCES event_endpoints(id) ON DELETE CASCADE,
    sealed_secret  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz
);
CREATE INDEX event_endpoint_secrets_endpoint ON event_endpoint_secrets (endpoint_id, created_at DESC);

-- One delivery per (event, endpoint), with its own attempts, schedule and status. `held`: kept
-- for a disabled endpoint, sent when it is enabled again.
CREATE TABLE event_deliveries (
    event_id          text NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    endpoint_id       text NOT NULL REFERENCES event_endpoints(id) ON DELETE CASCADE,
    event_created_at  timestamptz NOT NULL,
    status            text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'held')),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz,
    delivered_at      timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, endpoint_id)
);
-- Holding, releasing and recovering an endpoint's deliveries in order of creation.
CREATE INDEX event_deliveries_endpoint ON event_deliveries (endpoint_id, status, event_created_at, event_id);
-- The settle sweep: pending deliveries whose job is gone.
CREATE INDEX event_deliveries_pending ON event_deliveries (event_created_at) WHERE status = 'pending';
ALTER TABLE event_attempts ADD COLUMN endpoint_id text;

-- An event's summary (`delivery_status`, `attempts`, `delivered_at`, `next_attempt_at`, read by
-- the API, the dashboard and the operators) is kept from its deliveries by this trigger alone.
-- Counters change by increments on the locked row, so two endpoints' deliveries of one event
-- finishing at once both count: a summary recomputed from a snapshot would miss one of them.
ALTER TABLE events
    ADD COLUMN deliveries integer NOT NULL DEFAULT 0,
    ADD COLUMN deliveries_open integer NOT NULL DEFAULT 0,
    ADD COLUMN deliveries_failed integer NOT NULL DEFAULT 0,
    ALTER COLUMN delivery_status SET DEFAULT 'no_endpoint';

CREATE FUNCTION event_deliveries_summarise() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d_total int := 0; d_open int := 0; d_failed int := 0; d_attempts int := 0;
    target text; became text; next_at timestamptz; delivered timestamptz;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        d_total := d_total - 1;
        d_open := d_open - (OLD.status IN ('pending', 'held'))::int;
        d_failed := d_failed - (OLD.status = 'failed')::int;
        d_attempts := d_attempts - OLD.attempts;
        target := OLD.event_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        d_total := d_total + 1;
        d_open := d_open + (NEW.status IN ('pending', 'held'))::int;
        d_failed := d_failed + (NEW.status = 'failed')::int;
        d_attempts := d_attempts + NEW.attempts;
        target := NEW.event_id;
        became := NEW.status;
        next_at := NEW.next_attempt_at;
        delivered := NEW.delivered_at;
    END IF;
    UPDATE events SET
        deliveries = deliveries + d_total,
        deliveries_open = deliveries_open + d_open,
        deliveries_failed = deliveries_failed + d_failed,
        attempts = attempts + d_attempts,
        delivery_status = CASE WHEN deliveries + d_total = 0 THEN 'no_endpoint'
                               WHEN deliveries_failed + d_failed > 0 THEN 'failed'
                               WHEN deliveries_open + d_open > 0 THEN 'pending'
                               ELSE 'delivered' END,
        delivered_at = CASE WHEN deliveries + d_total > 0 AND deliveries_failed + d_failed = 0 AND deliveries_open + d_open = 0
                            THEN COALESCE(CASE WHEN became = 'delivered' THEN delivered END, delivered_at,
                                          (SELECT max(o.delivered_at) FROM event_deliveries o WHERE o.event_id = target)) END,
        next_attempt_at = CASE WHEN became = 'pending' THEN next_at
                               WHEN deliveries_open + d_open = 0 THEN NULL ELSE next_attempt_at END
    WHERE id = target;
    RETURN NULL;
END $$;
CREATE TRIGGER event_deliveries_summarise AFTER INSERT OR DELETE OR UPDATE OF status, attempts, next_attempt_at ON event_deliveries
    FOR EACH ROW EXECUTE FUNCTION event_deliveries_summarise();

-- The deliveries of events written before endpoints existed: to the account's default endpoint.
INSERT INTO event_deliveries (event_id, endpoint_id, event_created_at, status, attempts, next_attempt_at, delivered_at)
SELECT e.id, p.id, e.created_at, e.delivery_status, e.attempts, e.next_attempt_at, e.delivered_at
FROM events e JOIN event_endpoints p ON p.account_id = e.account_id AND p.is_default
WHERE e.delivery_status IN ('pending', 'delivered', 'failed');
-- The trigger added the attempts once more on top of the event's own count.
UPDATE events e SET attempts = d.attempts FROM event_deliveries d WHERE d.event_id = e.id;
-- A pending event of an account without an event URL has nowhere to go.
UPDATE events e SET delivery_status = 'no_endpoint', next_attempt_at = NULL
WHERE e.delivery_status = 'pending' AND NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = e.id);

-- Every event gets a delivery to each endpoint of its account whose filters take it, and each
-- enabled one its delivery job, in the transaction that wrote the event. An `endpoint.*` event
-- is about one endpoint and goes to the other enabled ones only (DeliveryStore.takes is the
-- same rule in Swift).
CREATE OR REPLACE FUNCTION events_enqueue_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    queued bigint;
BEGIN
    WITH made AS (
        INSERT INTO event_deliveries (event_id, endpoint_id, event_created_at, status)
        SELECT n.id, p.id, n.created_at, CASE WHEN p.status = 'enabled' THEN 'pending' ELSE 'held' END
        FROM new_events n JOIN event_endpoints p ON p.account_id = n.account_id
        WHERE (cardinality(p.event_types) = 0 OR n.type = ANY (p.event_types))
          AND (cardinality(p.tenant_ids) = 0 OR n.data->>'tenantId' = ANY (p.tenant_ids))
          AND NOT (n.type LIKE 'endpoint.%' AND (n.data->>'endpointId' = p.id OR p.status <> 'enabled'))
        RETURNING event_id, endpoint_id, status)
    SELECT count(job_enqueue('events.deliver',
                             jsonb_build_object('eventId', m.event_id, 'endpointId', m.endpoint_id, 'accountId', n.account_id),
                             'deliver:' || m.event_id || ':' || m.endpoint_id))
    INTO queued FROM made m JOIN new_events n ON n.id = m.event_id WHERE m.status = 'pending';
    RETURN NULL;
END $$;

-- Deliveries in flight, across every worker process: a delivery holds a row from before its
-- request until its outcome is written, or until its lease (the job's deadline) ends when a
-- worker died with it. Unlogged: a crash of Postgres frees every slot, which is right.
CREATE UNLOGGED TABLE event_delivery_slots (
    job_id       bigint PRIMARY KEY,
    account_id   text NOT NULL,
    endpoint_id  text NOT NULL,
    held_until   timestamptz NOT NULL
);
CREATE INDEX event_delivery_slots_account ON event_delivery_slots (account_id);
CREATE INDEX event_delivery_slots_endpoint ON event_delivery_slots (endpoint_id);

-- Deliveries started per endpoint and second, for endpoints with a rate limit.
CREATE UNLOGGED TABLE event_endpoint_rates (
    endpoint_id  text NOT NULL,
    second       bigint NOT NULL,
    started      integer NOT NULL,
    PRIMARY KEY (endpoint_id, second)
);

-- Takes a slot for a delivery: 'ok', 'slots' (the account's `p_limit` deliveries are in flight,
-- or the rest are kept for its other endpoints) or 'rate' (the endpoint started its
-- `rate_limit_per_second` deliveries this second). Each other enabled endpoint of the account
-- that holds no slot keeps one free (up to `p_limit - 1` of them), so a slow endpoint never
-- holds the slots its siblings need. Takers of one account are serialised by a
-- transaction-scoped advisory lock, held for the few statements here.
CREATE FUNCTION event_slot_take(p_job bigint, p_account text, p_endpoint text, p_limit int, p_seconds float8)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    kept int;
    rate int;
    now_second bigint := floor(extract(epoch FROM clock_timestamp()))::bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('dualhook.event_slots'), hashtext(p_account));
    DELETE FROM event_delivery_slots WHERE account_id = p_account AND (held_until < now() OR job_id = p_job);
    SELECT LEAST(count(*), p_limit - 1) INTO kept FROM event_endpoints q
    WHERE q.account_id = p_account AND q.id <> p_endpoint AND q.status = 'enabled'
      AND NOT EXISTS (SELECT 1 FROM event_delivery_slots s WHERE s.endpoint_id = q.id);
    IF (SELECT count(*) FROM event_delivery_slots WHERE account_id = p_account) >= p_limit - kept THEN
        RETURN 'slots';
    END IF;
    SELECT rate_limit_per_second INTO rate FROM event_endpoints WHERE id = p_endpoint;
    IF rate IS NOT NULL THEN
        DELETE FROM event_endpoint_rates WHERE endpoint_id = p_endpoint AND second < now_second;
        INSERT INTO event_endpoint_rates AS r (endpoint_id, second, started) VALUES (p_endpoint, now_second, 1)
        ON CONFLICT (endpoint_id, second) DO UPDATE SET started = r.started + 1
        WHERE r.started < rate;
        IF NOT FOUND THEN
            RETURN 'rate';
        END IF;
    END IF;
    INSERT INTO event_delivery_slots (job_id, account_id, endpoint_id, held_until)
    VALUES (p_job, p_account, p_endpoint, now() + make_interval(secs => p_seconds));
    RETURN 'ok';
END $$;

-- The prune-events sweep: events and attempts past their retention, oldest first.
CREATE INDEX events_created ON events (created_at);
CREATE INDEX event_attempts_attempted ON event_attempts (attempted_at);
