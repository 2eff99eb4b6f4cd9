-- Plans: what an account pays per month, the connections it includes, the price of each
-- extra connection, the trial, and what happens when a trial ends with no plan chosen.
CREATE TABLE plans (
    name                    text PRIMARY KEY,
    currency                text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    monthly_price           numeric(12, 2) NOT NULL CHECK (monthly_price >= 0),
    included_connections    integer NOT NULL CHECK (included_connections >= 0),
    extra_connection_price  numeric(12, 2) NOT NULL CHECK (extra_connection_price >= 0),
    trial_days              integer NOT NULL CHECK (trial_days >= 0),
    after_trial             text NOT NULL DEFAULT 'continue' CHECK (after_trial IN ('continue', 'block_onboarding')),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
INSERT INTO plans (name, currency, monthly_price, included_connections, extra_connection_price, trial_days)
VALUES ('platform', 'EUR', 99, 25, 4, 30);

-- Every account is on a plan (the platform plan until one is set); `plan_chosen_at` says an
-- operator set it (`accounts set-plan`), which is what ends "a trial without a plan".
ALTER TABLE accounts
    ADD COLUMN plan text NOT NULL DEFAULT 'platform' REFERENCES plans(name),
    ADD COLUMN plan_chosen_at timestamptz;

-- Each connection's status over time, the ground truth of metering: written by a trigger on
-- every change of `connections.status` (so no code path can skip it), never updated. A
-- connection-day is a UTC day a connection was `active` for any part of.
CREATE TABLE connection_status_changes (
    connection_id  text NOT NULL,
    account_id     text NOT NULL,
    tenant_id      text NOT NULL,
    status         text NOT NULL,
    at             timestamptz NOT NULL,
    PRIMARY KEY (connection_id, at, status)
);
CREATE INDEX connection_status_changes_account ON connection_status_changes (account_id, at);

CREATE FUNCTION connections_record_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status THEN
        INSERT INTO connection_status_changes (connection_id, account_id, tenant_id, status, at)
        VALUES (NEW.id, NEW.account_id, NEW.tenant_id, NEW.status, clock_timestamp())
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER connections_record_status AFTER INSERT OR UPDATE OF status ON connections
    FOR EACH ROW EXECUTE FUNCTION connections_record_status();

-- The history of connections made before: active from creation, then their last change.
INSERT INTO connection_status_changes (connection_id, account_id, tenant_id, status, at)
SELECT id, account_id, tenant_id, 'active', created_at FROM connections
ON CONFLICT DO NOTHING;
INSERT INTO connection_status_changes (connection_id, account_id, tenant_id, status, at)
SELECT id, account_id, tenant_id, status, COALESCE(CASE status WHEN 'disconnected' THEN disconnected_at WHEN 'suspended' THEN suspended_at END, updated_at)
FROM connections WHERE status <> 'active'
ON CONFLICT DO NOTHING;

-- Notices sent once per account and period (`account.trial_ending`, `usage.threshold` at 80
-- and 100): the sweep inserts here first and only the insert that lands emits the event, so
-- any number of schedulers and workers send each once.
CREATE TABLE usage_notices (
    account_id  text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    period      text NOT NULL,
    notice      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, period, notice)
);
