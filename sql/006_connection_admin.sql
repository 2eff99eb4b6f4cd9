-- What an account does with its connections after onboarding.

-- The webhook configuration asked for a WABA (Meta keeps one override per WABA, shared by its
-- numbers): each PATCH bumps the version, and the job applies the latest, so racing requests
-- end on the last one. The verify token is sealed, bound to the WABA.
CREATE TABLE webhook_updates (
    waba_id               text PRIMARY KEY,
    account_id            text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    version               bigint NOT NULL,
    webhook_override_url  text NOT NULL,
    webhook_verify_token  text NOT NULL,
    status                text NOT NULL CHECK (status IN ('pending', 'applied', 'failed')),
    error                 text,
    applied_version       bigint,
    requested_at          timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Every reveal of a connection's secrets: who (API key), what, when, from where.
CREATE TABLE secret_reveal_events (
    id             text PRIMARY KEY,
    account_id     text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    api_key_id     text NOT NULL,
    connection_id  text NOT NULL,
    secret_types   text[] NOT NULL,
    client_ip      text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
-- The per-key budget (a sliding hour) and the audit listing.
CREATE INDEX secret_reveal_events_key ON secret_reveal_events (api_key_id, created_at);
CREATE INDEX secret_reveal_events_list ON secret_reveal_events (account_id, created_at DESC, id DESC);

-- Listing a tenant's connections.
CREATE INDEX connections_tenant ON connections (account_id, tenant_id, created_at DESC, id DESC);

-- The coexistence heartbeat counts from the last confirmation (onboarding is the first).
ALTER TABLE connections ADD COLUMN heartbeat_confirmed_at timestamptz;
