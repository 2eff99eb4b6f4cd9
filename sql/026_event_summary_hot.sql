-- An event's delivery summary (`delivery_status`, `attempts`, the counts) changes with each of
-- its deliveries: when it is written, and when each attempt ends. `events_pending` indexed
-- `created_at` where `delivery_status = 'pending'`, so every change of that status made a new
-- row version in all six of the table's indexes (the tenant's expression index included). No
-- query reads it any more: listings go by account (`events_account…`) and the settle sweep by
-- `event_deliveries_pending`. Without it no index covers a summary column, and with room left
-- on each page the summary is rewritten in place (a heap-only update). The fill factor holds
-- for pages written from now on; pages already full keep no room.
DROP INDEX IF EXISTS events_pending;
ALTER TABLE events SET (fillfactor = 80);
