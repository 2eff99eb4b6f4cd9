-- Tenants (an account's customers) and their onboarding sessions.
CREATE TABLE tenants (
    account_id  text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    tenant_id   text NOT NULL,
    name        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, tenant_id)
);

CREATE TABLE onboarding_sessions (
    id                    text PRIMARY KEY,
    account_id            text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    tenant_id             text NOT NULL,
    status                text NOT NULL DEFAULT 'created'
                          CHECK (status IN ('created', 'opened', 'exchanging', 'completed', 'failed', 'cancelled', 'expired')),
    webhook_check         text NOT NULL DEFAULT 'pending' CHECK (webhook_check IN ('pending', 'passed', 'failed')),
    failure_reason        text,
    connection_id         text,
    token_hash            bytea NOT NULL UNIQUE,
    success_redirect_url  text NOT NULL,
    failure_redirect_url  text NOT NULL,
    cancel_redirect_url   text NOT NULL,
    webhook_override_url  text NOT NULL,
    webhook_verify_token  text NOT NULL,
    metadata              jsonb NOT NULL DEFAULT '{}',
    coexistence           boolean NOT NULL DEFAULT false,
    created_at            timestamptz NOT NULL DEFAULT now(),
    expires_at            timestamptz NOT NULL,
    FOREIGN KEY (account_id, tenant_id) REFERENCES tenants (account_id, tenant_id)
);
CREATE INDEX onboarding_sessions_list ON onboarding_sessions (account_id, created_at DESC, id DESC);
CREATE INDEX onboarding_sessions_tenant ON onboarding_sessions (account_id, tenant_id);
CREATE INDEX onboarding_sessions_expiring ON onboarding_sessions (expires_at) WHERE status IN ('created', 'opened');

-- The outbox: every lifecycle event, written in the transaction that causes it.
CREATE TABLE events (
    id          text PRIMARY KEY,
    account_id  text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    type        text NOT NULL,
    data        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_account ON events (account_id, created_at DESC, id DESC);
