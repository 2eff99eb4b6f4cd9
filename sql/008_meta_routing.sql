-- Onboarding and webhook routing as Meta behaves: overrides per WABA or per number, what Meta
-- resolves for each number, Embedded Signup's finishes without a (verified) number, users'
-- error reports, Coexistence sync requests, tokens that expire, and the page's language.

ALTER TABLE onboarding_sessions
    -- Where the override is set: on the WABA (every number of it) or on this signup's numbers.
    ADD COLUMN webhook_scope text NOT NULL DEFAULT 'waba' CHECK (webhook_scope IN ('waba', 'phone_number')),
    -- BCP 47 tag the account asked for; null: the browser's Accept-Language decides.
    ADD COLUMN locale text,
    -- What the person reported in Meta's window ({currentStep, errorMessage, errorId}).
    ADD COLUMN failure_detail jsonb,
    -- The WABA is subscribed with its override, but Meta shows no usable number yet.
    ADD COLUMN awaiting_since timestamptz,
    ADD COLUMN business_id text;
ALTER TABLE onboarding_sessions DROP CONSTRAINT onboarding_sessions_status_check;
ALTER TABLE onboarding_sessions ADD CONSTRAINT onboarding_sessions_status_check
    CHECK (status IN ('created', 'opened', 'exchanging', 'awaiting_number', 'completed', 'failed', 'cancelled', 'expired'));
CREATE INDEX onboarding_sessions_awaiting ON onboarding_sessions (waba_id) WHERE status = 'awaiting_number';

ALTER TABLE connections
    ADD COLUMN webhook_scope text NOT NULL DEFAULT 'waba' CHECK (webhook_scope IN ('waba', 'phone_number')),
    -- Where Meta sends this number's webhooks (phone override, else WABA override, else the
    -- app's callback), as last read back from Meta.
    ADD COLUMN routing_effective_url text,
    ADD COLUMN routing_checked_at timestamptz,
    -- From the code exchange's `expires_in`; null for a token that does not expire.
    ADD COLUMN token_expires_at timestamptz,
    ADD COLUMN token_expiring_notified_at timestamptz,
    -- Coexistence: sync_type → Meta's request_id, for each sync Meta accepted (or had done).
    ADD COLUMN sync_requests jsonb NOT NULL DEFAULT '{}';
CREATE INDEX connections_token_expiry ON connections (token_expires_at) WHERE status = 'active' AND token_expires_at IS NOT NULL;

-- A requested webhook configuration belongs to the Meta object it is set on: the WABA, or one
-- number for per-number routing. Both are Meta ids, which never collide.
ALTER TABLE webhook_updates ADD COLUMN target text;
UPDATE webhook_updates SET target = waba_id;
ALTER TABLE webhook_updates ALTER COLUMN target SET NOT NULL;
ALTER TABLE webhook_updates DROP CONSTRAINT webhook_updates_pkey;
ALTER TABLE webhook_updates ADD PRIMARY KEY (target);
CREATE INDEX webhook_updates_waba ON webhook_updates (waba_id);

-- The exchanged token's expiry, kept with the token across retries until the connection has it.
ALTER TABLE onboarding_sessions ADD COLUMN token_expires_at timestamptz;
