-- Why a session's webhook check failed: the status code the tenant's URL answered, or the
-- network error (never a secret). Cleared when the check runs again.
ALTER TABLE onboarding_sessions ADD COLUMN webhook_check_error text;
