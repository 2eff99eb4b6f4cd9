-- Accounts (the SaaS products using Dualhook) and their API keys.
CREATE TABLE accounts (
    id                    text PRIMARY KEY,
    name                  text NOT NULL,
    display_name          text NOT NULL,
    logo_url              text,
    event_url             text,
    redirect_origins      text[] NOT NULL DEFAULT '{}',
    rate_limit_per_minute integer NOT NULL DEFAULT 600 CHECK (rate_limit_per_minute > 0),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Event signing secrets: the newest signs; a rotated one keeps signing until expires_at.
CREATE TABLE account_signing_secrets (
    id          bigserial PRIMARY KEY,
    account_id  text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    secret      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz
);
CREATE INDEX account_signing_secrets_account ON account_signing_secrets (account_id, created_at DESC);

-- Only the SHA-256 of a key is kept; the prefix is for display.
CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    account_id   text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key_hash     bytea NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
CREATE INDEX api_keys_account ON api_keys (account_id);

-- Fixed one-minute windows per key and budget, shared by every front process.
CREATE TABLE rate_limit_windows (
    key_id       text NOT NULL,
    budget       text NOT NULL,
    window_start timestamptz NOT NULL,
    count        integer NOT NULL,
    PRIMARY KEY (key_id, budget, window_start)
);

-- Stored first responses of POSTs sent with an Idempotency-Key, replayed for an hour.
CREATE TABLE idempotency_keys (
    account_id      text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key             text NOT NULL,
    request_hash    bytea NOT NULL,
    state           text NOT NULL CHECK (state IN ('running', 'done')),
    response_status integer,
    response_body   bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
