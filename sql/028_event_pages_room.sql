-- Room on each page of `events` for a second version of every row it holds, so an event's
-- delivery summary is rewritten in place (a heap-only update) instead of in all five indexes.
-- sql/026_event_summary_hot.sql left a fifth of each page free: events are written in order
-- and delivered in order, so the rows of one page get their summaries rewritten within moments
-- of each other, before the versions they replace can be pruned, and the fifth filled after
-- four of them. In a burst of 10,000 deliveries (`ops/bench/events 10000`) 11,801 of 21,000
-- updates of `events` were heap-only at 80 and all 21,000 at 50. The heap is about twice as
-- large; the indexes no longer take a new entry for nearly half the summary changes.
-- As before, the setting holds for pages written from now on.
ALTER TABLE events SET (fillfactor = 50);
