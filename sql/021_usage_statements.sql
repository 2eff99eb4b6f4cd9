-- A closed month's usage, kept as first computed after the month ended (the usage sweep makes
-- them in its first run of the next month): reports of a closed month read this, so a plan
-- changed later does not re-price it. The current month is always computed.
CREATE TABLE usage_statements (
    account_id  text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    period      text NOT NULL,
    statement   jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, period)
);
