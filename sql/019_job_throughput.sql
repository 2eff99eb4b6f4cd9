-- Jobs finished per queue and minute, for the console's throughput over time: filled by the
-- fold of job_count_deltas (each fold adds what finished since the last one to its minute),
-- pruned after 7 days with the jobs.
CREATE TABLE job_throughput (
    queue      text NOT NULL,
    minute     timestamptz NOT NULL,
    completed  bigint NOT NULL DEFAULT 0,
    discarded  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, minute)
);
