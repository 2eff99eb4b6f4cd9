-- An event's `attempts` counts every attempt made for it, as `GET /api/v1/events/{id}` lists
-- them. Deleting an endpoint deletes its deliveries (their attempts stay in event_attempts):
-- the count no longer drops with them. Since 024 this row trigger runs for INSERT and DELETE
-- only (updates are summarised per statement).
CREATE OR REPLACE FUNCTION event_deliveries_summarise() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d_total int := 0; d_open int := 0; d_failed int := 0; d_attempts int := 0;
    target text; became text; next_at timestamptz; delivered timestamptz;
BEGIN
    IF TG_OP = 'DELETE' THEN
        d_total := -1;
        d_open := -(OLD.status IN ('pending', 'held'))::int;
        d_failed := -(OLD.status = 'failed')::int;
        target := OLD.event_id;
    ELSE
        d_total := 1;
        d_open := (NEW.status IN ('pending', 'held'))::int;
        d_failed := (NEW.status = 'failed')::int;
        d_attempts := NEW.attempts;
        target := NEW.event_id;
        became := NEW.status;
        next_at := NEW.next_attempt_at;
        delivered := NEW.delivered_at;
    END IF;
    UPDATE events SET
        deliveries = deliveries + d_total,
        deliveries_open = deliveries_open + d_open,
        deliveries_failed = deliveries_failed + d_failed,
        attempts = attempts + d_attempts,
        delivery_status = CASE WHEN deliveries + d_total = 0 THEN 'no_endpoint'
                               WHEN deliveries_failed + d_failed > 0 THEN 'failed'
                               WHEN deliveries_open + d_open > 0 THEN 'pending'
                               ELSE 'delivered' END,
        delivered_at = CASE WHEN deliveries + d_total > 0 AND deliveries_failed + d_failed = 0 AND deliveries_open + d_open = 0
                            THEN COALESCE(CASE WHEN became = 'delivered' THEN delivered END, delivered_at,
                                          (SELECT max(o.delivered_at) FROM event_deliveries o WHERE o.event_id = target)) END,
        -- One delivery just inserted is the event's only one: its own time. After a delete
        -- (an endpoint removed), the rest are read.
        next_attempt_at = CASE WHEN deliveries_open + d_open = 0 THEN NULL
                               WHEN TG_OP = 'INSERT' AND deliveries + d_total = 1 THEN CASE WHEN became = 'pending' THEN next_at END
                               ELSE (SELECT min(o.next_attempt_at) FROM event_deliveries o
                                     WHERE o.event_id = target AND o.status = 'pending') END
    WHERE id = target;
    RETURN NULL;
END $$;

-- Events that lost attempts to a deleted endpoint before this: counted again from the log.
UPDATE events e SET attempts = a.n
FROM (SELECT event_id, count(*)::int AS n FROM event_attempts GROUP BY event_id) a
WHERE a.event_id = e.id AND e.attempts < a.n;
