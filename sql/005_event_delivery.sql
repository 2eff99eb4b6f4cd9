-- Delivering the outbox: one `events.deliver` job per event, every attempt logged, and each
-- account's endpoint health.

ALTER TABLE events
    ADD COLUMN delivery_status text NOT NULL DEFAULT 'pending'
        CHECK (delivery_status IN ('pending', 'delivered', 'failed', 'no_endpoint')),
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN delivered_at timestamptz,
    ADD COLUMN next_attempt_at timestamptz;
CREATE INDEX events_account_type ON events (account_id, type, created_at DESC, id DESC);
-- The settle sweep: pending events whose delivery job is gone.
CREATE INDEX events_pending ON events (created_at) WHERE delivery_status = 'pending';

CREATE TABLE event_attempts (
    id             bigserial PRIMARY KEY,
    event_id       text NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    attempted_at   timestamptz NOT NULL,
    url            text NOT NULL,
    status_code    integer,
    duration_ms    double precision NOT NULL,
    error          text,
    -- The first 4 KiB of the answer.
    response_body  text
);
CREATE INDEX event_attempts_event ON event_attempts (event_id, id);

-- The account's event endpoint as deliveries see it: `failing` from the first failed attempt
-- after a success until the next success.
CREATE TABLE event_endpoints (
    account_id     text PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    status         text NOT NULL DEFAULT 'healthy' CHECK (status IN ('healthy', 'failing')),
    failing_since  timestamptz,
    last_error     text,
    last_success_at timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Every event gets its delivery job in the transaction that wrote it, however it was written
-- (one INSERT from Swift, or a sweep's INSERT … SELECT): one job per event, unique per event.
CREATE FUNCTION events_enqueue_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO jobs (queue, kind, args, max_attempts, timeout_seconds, unique_key)
    SELECT 'events', 'events.deliver', jsonb_build_object('eventId', n.id, 'accountId', n.account_id), 7, 20, 'deliver:' || n.id
    FROM new_events n
    ON CONFLICT (unique_key) WHERE state IN ('available', 'running') DO NOTHING;
    PERFORM pg_notify('dualhook_jobs.events', '');
    RETURN NULL;
END $$;
CREATE TRIGGER events_enqueue_delivery AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION events_enqueue_delivery();

-- Events written before delivery existed are delivered now.
INSERT INTO jobs (queue, kind, args, max_attempts, timeout_seconds, unique_key)
SELECT 'events', 'events.deliver', jsonb_build_object('eventId', e.id, 'accountId', e.account_id), 7, 20, 'deliver:' || e.id
FROM events e
ON CONFLICT (unique_key) WHERE state IN ('available', 'running') DO NOTHING;

-- Signing secrets are sealed from now on (`v1:<kid>:<base64>`, bound to the account); a value
-- still starting with `whsec_` is one written before, read as it is.
ALTER TABLE account_signing_secrets RENAME COLUMN secret TO sealed_secret;
