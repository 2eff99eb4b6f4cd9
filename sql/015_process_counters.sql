-- Counters for /metrics that outlive a scrape and add up across processes: each process keeps
-- its increments in memory and adds them to its own rows every few seconds (no two processes
-- write one row, so nobody waits on a counter). A metric is the sum over processes.
CREATE TABLE process_counters (
    process     text NOT NULL,
    name        text NOT NULL,
    labels      text NOT NULL,
    value       bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (process, name, labels)
);
