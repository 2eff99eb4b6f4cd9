-- Events listed by tenant (`GET /api/v1/events?tenantId=`): every event's data carries its
-- tenant, so the filter reads it there, through this index, newest first as lists are.
CREATE INDEX events_account_tenant ON events (account_id, (data->>'tenantId'), created_at DESC, id DESC);

-- Who cancelled a session: the end user in Meta's window (the link can be started again while
-- it lives) or the account through the API (final; the link stops working).
ALTER TABLE onboarding_sessions ADD COLUMN cancelled_by text CHECK (cancelled_by IN ('end_user', 'api'));
UPDATE onboarding_sessions SET cancelled_by = 'end_user' WHERE status = 'cancelled';

-- Ids made in SQL have the same shape as those made in Swift (Identifiers.make): the prefix,
-- an underscore and 24 base62 characters. Each character comes from the first byte of a
-- random UUID, whose bits are all random.
CREATE FUNCTION dualhook_id(prefix text) RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT prefix || '_' || string_agg(
        substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 1 + get_byte(uuid_send(gen_random_uuid()), 0) % 62, 1), '')
    FROM generate_series(1, 24)
$$;

-- A disconnected connection keeps no secret: its token, verify token and PIN are erased when
-- it ends (after Meta was told), and erased now for those that ended before.
ALTER TABLE connections ALTER COLUMN access_token DROP NOT NULL, ALTER COLUMN webhook_verify_token DROP NOT NULL;
UPDATE connections SET access_token = NULL, webhook_verify_token = NULL, registration_pin = NULL WHERE status = 'disconnected';

-- Links replaced by a fresh one (`POST …/sessions/{id}/link`): an old link answers 410 and
-- says so, instead of claiming it never existed.
CREATE TABLE onboarding_retired_links (
    token_hash  bytea PRIMARY KEY,
    session_id  text NOT NULL REFERENCES onboarding_sessions(id) ON DELETE CASCADE,
    retired_at  timestamptz NOT NULL DEFAULT now()
);
