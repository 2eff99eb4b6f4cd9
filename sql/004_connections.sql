-- Connections: a tenant's phone number whose WhatsApp webhooks Meta sends straight to the
-- tenant's URL (Webhook Override). Numbers under one WABA are siblings: Meta keeps one override
-- per WABA, so they share the webhook configuration.
CREATE TABLE connections (
    id                    text PRIMARY KEY,
    account_id            text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    tenant_id             text NOT NULL,
    session_id            text REFERENCES onboarding_sessions(id) ON DELETE SET NULL,
    waba_id               text NOT NULL,
    phone_number_id       text NOT NULL,
    business_id           text,
    display_phone_number  text,
    verified_name         text,
    status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disconnected')),
    connection_mode       text NOT NULL CHECK (connection_mode IN ('cloud_api', 'coexistence', 'unknown')),
    webhook_override_url  text NOT NULL,
    -- Sealed (AES-256-GCM, `v1:<kid>:<base64>`); the access token's associated data is the
    -- connection id, the verify token's and the PIN's `connection:<id>:<name>`.
    webhook_verify_token  text NOT NULL,
    access_token          text NOT NULL,
    registration_pin      text,
    registered            boolean NOT NULL DEFAULT false,
    quality_rating        text,
    messaging_limit_tier  text,
    health_status         text,
    health_checked_at     timestamptz,
    disconnect_reason     text,
    disconnected_at       timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, tenant_id) REFERENCES tenants (account_id, tenant_id)
);
-- A number is live in one connection at a time.
CREATE UNIQUE INDEX connections_live_phone ON connections (phone_number_id) WHERE status = 'active';
-- Siblings, and whose WABA it is.
CREATE INDEX connections_live_waba ON connections (waba_id) WHERE status = 'active';
CREATE INDEX connections_list ON connections (account_id, created_at DESC, id DESC);

-- Provisioning progress kept across retries of the exchange job: Meta's code works once, so
-- the token it gave is kept (sealed, bound to the session) until the connection holds it; the
-- WABA the session claims; the registration PINs set at Meta, by phone number id.
ALTER TABLE onboarding_sessions
    ADD COLUMN exchanging_since timestamptz,
    ADD COLUMN waba_id text,
    ADD COLUMN exchanged_token text,
    ADD COLUMN registration_pins jsonb NOT NULL DEFAULT '{}';
CREATE INDEX onboarding_sessions_claims ON onboarding_sessions (waba_id) WHERE status = 'exchanging';
-- Sessions whose exchange never reported back (a worker lost during the last attempt).
CREATE INDEX onboarding_sessions_stuck ON onboarding_sessions (exchanging_since) WHERE status = 'exchanging';
