-- A management change about the whole WABA (a template's status, the account's review, an
-- alert) goes to every distinct webhook URL among the WABA's live connections. Before, only the
-- WABA's oldest connection's URL had it, so a number routed elsewhere (per-number routing, its
-- own override) never heard of its WABA's templates. The first target's forward stays on `management_changes`; each further
-- target's is a row here, forwarded by a job of its own.
CREATE TABLE management_forwards (
    change_id      text NOT NULL REFERENCES management_changes (id) ON DELETE CASCADE,
    connection_id  text NOT NULL,
    account_id     text NOT NULL,
    status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'delivered', 'failed', 'no_connection')),
    attempts       integer NOT NULL DEFAULT 0,
    forwarded_at   timestamptz,
    last_error     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (change_id, connection_id)
);
