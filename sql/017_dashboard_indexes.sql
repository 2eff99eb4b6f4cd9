-- What the dashboard's overview reads, each by an index of its own, so the page stays fast at
-- 100,000 connections per account (ops/bench/scale measures it): counts by status from an
-- index-only scan, and each kind of problem from a partial index of the few rows it concerns.
CREATE INDEX connections_account_status ON connections (account_id, status);
CREATE INDEX connections_unhealthy ON connections (account_id, id)
    WHERE status IN ('active', 'suspended') AND (health_status = 'BLOCKED' OR quality_rating = 'RED');
CREATE INDEX connections_shadowed ON connections (account_id, id)
    WHERE status IN ('active', 'suspended') AND routing_checked_at IS NOT NULL
      AND routing_effective_url IS DISTINCT FROM webhook_override_url;
CREATE INDEX connections_account_suspended ON connections (account_id, suspended_at) WHERE status = 'suspended';
CREATE INDEX connections_account_heartbeat ON connections (account_id, (COALESCE(heartbeat_confirmed_at, created_at)))
    WHERE status IN ('active', 'suspended') AND connection_mode = 'coexistence';
CREATE INDEX connections_account_token_expiry ON connections (account_id, token_expires_at)
    WHERE status IN ('active', 'suspended') AND token_expires_at IS NOT NULL;
-- The 30-day funnel and its failure reasons in one index-only scan.
CREATE INDEX onboarding_sessions_funnel ON onboarding_sessions (account_id, created_at)
    INCLUDE (status, failure_reason, opened_at, exchanging_since);
DROP INDEX onboarding_sessions_account_created;
