-- Dashboard forms that make something shown once (an API key, a rotated signing secret) are
-- answered with the page that shows it, not a redirect, so a reload posted them again: a
-- second key, a second rotation replacing the secret just shown. Each such form now carries a
-- token used once per session; a second post of it changes nothing and goes back to the page.
CREATE TABLE dashboard_form_uses (
    session_hash  bytea NOT NULL REFERENCES dashboard_sessions (token_hash) ON DELETE CASCADE,
    token         text NOT NULL,
    used_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_hash, token)
);

-- The authenticator key Settings offers stays the same for the session until it is confirmed
-- (sealed to the user): each load offered a new one, so after a reload the app the user had
-- scanned never matched.
ALTER TABLE dashboard_sessions ADD COLUMN totp_pending text;
