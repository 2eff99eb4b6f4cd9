-- People who sign in to the dashboard (`/dashboard`, an account's users) and the operator
-- console (`/ops`, operators, who belong to no account). Passwords are scrypt hashes
-- (Crypto.PasswordHash); a TOTP secret is sealed; recovery codes are kept as SHA-256 hashes.
CREATE TABLE users (
    id                   text PRIMARY KEY,
    email                text NOT NULL,
    account_id           text REFERENCES accounts(id) ON DELETE CASCADE,
    role                 text CHECK (role IN ('owner', 'admin', 'viewer')),
    password_hash        text,
    totp_secret          text,
    totp_enabled         boolean NOT NULL DEFAULT false,
    totp_last_step       bigint,
    recovery_codes       jsonb NOT NULL DEFAULT '[]',
    password_changed_at  timestamptz,
    disabled_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    -- An account user has an account and a role; an operator has neither.
    CHECK ((account_id IS NULL) = (role IS NULL))
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

-- One-time links (24 h) where a user sets a password; only the token's hash is kept.
CREATE TABLE user_sign_in_links (
    token_hash  bytea PRIMARY KEY,
    user_id     text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

-- Cookie sessions: the cookie carries a random token, this table its hash. `second_factor`
-- is false between the password and the TOTP code. Idle and absolute expiry; revoked on a
-- password change or sign-out.
CREATE TABLE dashboard_sessions (
    token_hash          bytea PRIMARY KEY,
    user_id             text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token          text NOT NULL,
    second_factor_done  boolean NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_seen_at        timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    revoked_at          timestamptz
);
CREATE INDEX dashboard_sessions_user ON dashboard_sessions (user_id) WHERE revoked_at IS NULL;

-- Failed sign-ins counted per address and per user in minute windows (unlogged: counters, not
-- records; a crash of Postgres forgives at most one window).
CREATE UNLOGGED TABLE sign_in_failures (
    scope         text NOT NULL,
    window_start  timestamptz NOT NULL,
    count         integer NOT NULL,
    PRIMARY KEY (scope, window_start)
);

-- Every change made from the dashboard or the console, readable by the account it touched.
CREATE TABLE audit_events (
    id          text PRIMARY KEY,
    account_id  text REFERENCES accounts(id) ON DELETE CASCADE,
    user_id     text REFERENCES users(id) ON DELETE SET NULL,
    action      text NOT NULL,
    target      text,
    detail      jsonb NOT NULL DEFAULT '{}',
    client_ip   text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_account ON audit_events (account_id, created_at DESC, id DESC);

-- When a person first opened a session's link (its page's script reported them): the
-- dashboard's onboarding funnel counts from it.
ALTER TABLE onboarding_sessions ADD COLUMN opened_at timestamptz;
CREATE INDEX onboarding_sessions_account_created ON onboarding_sessions (account_id, created_at);
