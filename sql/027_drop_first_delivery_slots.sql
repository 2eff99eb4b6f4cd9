-- The first form of delivery slots (sql/022_event_endpoints.sql): a row per delivery in flight
-- and the five-argument `event_slot_take`. sql/024_delivery_slot_rows.sql replaced them with a
-- fixed set of rows per account and kept these for the workers of the release before it while
-- a deploy restarts them. No code of this release or the one before reads them, and the table
-- is unlogged: its rows are leases that ended with their jobs.
DROP FUNCTION event_slot_take(bigint, text, text, int, float8);
DROP TABLE event_delivery_slots;
