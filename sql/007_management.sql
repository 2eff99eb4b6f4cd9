-- Meta's app-level callback: every management change, deduplicated, applied and forwarded.
CREATE TABLE management_changes (
    id              text PRIMARY KEY,   -- also the X-Dualhook-Trace of its forward
    waba_id         text NOT NULL,
    field           text NOT NULL,
    value           jsonb NOT NULL,
    -- SHA-256 of WABA, field and value: the same change within 10 minutes is dropped.
    dedupe_key      bytea NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    applied_at      timestamptz,
    account_id      text,
    connection_id   text,
    forward_status  text NOT NULL DEFAULT 'pending'
                    CHECK (forward_status IN ('pending', 'delivered', 'failed', 'no_connection')),
    forward_attempts integer NOT NULL DEFAULT 0,
    forwarded_at    timestamptz,
    last_error      text
);
CREATE INDEX management_changes_dedupe ON management_changes (dedupe_key, received_at DESC);
CREATE INDEX management_changes_waba ON management_changes (waba_id, received_at DESC);

-- Message-path fields that reached the app callback: where and when, never what.
CREATE TABLE routing_anomalies (
    id           bigserial PRIMARY KEY,
    waba_id      text,
    field        text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);

-- Message templates as the management fields describe them.
CREATE TABLE templates (
    waba_id      text NOT NULL,
    template_id  text NOT NULL,
    name         text,
    language     text,
    status       text,
    quality      text,
    category     text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (waba_id, template_id)
);

-- The heartbeat cycle a reminder was sent for (once per cycle), and the app's last sync.
ALTER TABLE connections
    ADD COLUMN heartbeat_due_soon_for timestamptz,
    ADD COLUMN heartbeat_overdue_for timestamptz,
    ADD COLUMN coexistence_synced_at timestamptz;
CREATE INDEX connections_health_due ON connections (health_checked_at NULLS FIRST) WHERE status = 'active';
CREATE INDEX connections_heartbeat ON connections ((COALESCE(heartbeat_confirmed_at, created_at)))
    WHERE status = 'active' AND connection_mode = 'coexistence';
