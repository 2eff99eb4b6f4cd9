-- Worker processes as they report themselves: each writes its row when it starts, again at every
-- reaper round (a few seconds), and deletes it when it stops cleanly. A row whose last report is
-- old is a worker that died or lost the database; rows silent for a day are dropped by the
-- reports of the others. For the console and /metrics: which workers serve which queues.
CREATE TABLE job_workers (
    id          text PRIMARY KEY,
    queues      text NOT NULL,
    running     int NOT NULL DEFAULT 0,
    started_at  timestamptz NOT NULL DEFAULT now(),
    seen_at     timestamptz NOT NULL DEFAULT now()
);
