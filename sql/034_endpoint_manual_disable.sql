-- An account can pause an endpoint itself (POST /api/v1/event-endpoints/{id}/disable,
-- PATCH {"status":"disabled"}, the dashboard): its events are held as for one Dualhook disabled.
ALTER TABLE event_endpoints DROP CONSTRAINT IF EXISTS event_endpoints_disabled_reason_check;
ALTER TABLE event_endpoints ADD CONSTRAINT event_endpoints_disabled_reason_check
    CHECK (disabled_reason IN ('gone', 'failing', 'manual'));
