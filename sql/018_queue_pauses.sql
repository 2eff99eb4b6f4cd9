-- Queues an operator paused: workers claim nothing from them until they are resumed; jobs
-- keep arriving and wait. Running jobs finish.
CREATE TABLE job_queue_pauses (
    queue      text PRIMARY KEY,
    paused_at  timestamptz NOT NULL DEFAULT now(),
    paused_by  text
);
