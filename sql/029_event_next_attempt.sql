-- An event's `next_attempt_at` is the earliest due time of its pending deliveries. The summary
-- triggers took it from the deliveries each statement changed: with several endpoints, a
-- delivery that succeeded left the event naming its own past retry time, and one retried later
-- replaced an earlier time of another endpoint's delivery. An event with one delivery still
-- takes it from that delivery alone (no read); with several, from all of them.

CREATE OR REPLACE FUNCTION event_deliveries_summarise() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d_total int := 0; d_open int := 0; d_failed int := 0; d_attempts int := 0;
    target text; became text; next_at timestamptz; delivered timestamptz;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        d_total := d_total - 1;
        d_open := d_open - (OLD.status IN ('pending', 'held'))::int;
        d_failed := d_failed - (OLD.status = 'failed')::int;
        d_attempts := d_attempts - OLD.attempts;
        target := OLD.event_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        d_total := d_total + 1;
        d_open := d_open + (NEW.status IN ('pending', 'held'))::int;
        d_failed := d_failed + (NEW.status = 'failed')::int;
        d_attempts := d_attempts + NEW.attempts;
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

CREATE OR REPLACE FUNCTION event_deliveries_summarise_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The events in id order first, so two statements writing summaries of the same events
    -- take those locks in one order. Their deliveries are already locked by then: a batch of
    -- attempts avoids a circle through them by locking its events before its deliveries.
    PERFORM 1 FROM events WHERE id IN (SELECT event_id FROM new_deliveries) ORDER BY id FOR NO KEY UPDATE;
    UPDATE events e SET
        deliveries_open = e.deliveries_open + c.d_open,
        deliveries_failed = e.deliveries_failed + c.d_failed,
        attempts = e.attempts + c.d_attempts,
        delivery_status = CASE WHEN e.deliveries = 0 THEN 'no_endpoint'
                               WHEN e.deliveries_failed + c.d_failed > 0 THEN 'failed'
                               WHEN e.deliveries_open + c.d_open > 0 THEN 'pending'
                               ELSE 'delivered' END,
        delivered_at = CASE WHEN e.deliveries > 0 AND e.deliveries_failed + c.d_failed = 0 AND e.deliveries_open + c.d_open = 0
                            THEN COALESCE(c.delivered, e.delivered_at,
                                          (SELECT max(o.delivered_at) FROM event_deliveries o WHERE o.event_id = e.id)) END,
        -- The earliest due of its pending deliveries: those of the statement alone when the
        -- event has one delivery, read from all of them when it has several.
        next_attempt_at = CASE WHEN e.deliveries_open + c.d_open = 0 THEN NULL
                               WHEN e.deliveries = 1 THEN CASE WHEN c.became_pending THEN c.next_at END
                               ELSE (SELECT min(o.next_attempt_at) FROM event_deliveries o
                                     WHERE o.event_id = e.id AND o.status = 'pending') END
    FROM (SELECT n.event_id,
                 sum((n.status IN ('pending', 'held'))::int - (o.status IN ('pending', 'held'))::int) AS d_open,
                 sum((n.status = 'failed')::int - (o.status = 'failed')::int) AS d_failed,
                 sum(n.attempts - o.attempts) AS d_attempts,
                 max(n.delivered_at) FILTER (WHERE n.status = 'delivered') AS delivered,
                 bool_or(n.status = 'pending') AS became_pending,
                 min(n.next_attempt_at) FILTER (WHERE n.status = 'pending') AS next_at
          FROM new_deliveries n JOIN old_deliveries o ON o.event_id = n.event_id AND o.endpoint_id = n.endpoint_id
          WHERE n.status <> o.status OR n.attempts <> o.attempts
             OR n.next_attempt_at IS DISTINCT FROM o.next_attempt_at OR n.delivered_at IS DISTINCT FROM o.delivered_at
          GROUP BY n.event_id) c
    WHERE e.id = c.event_id;
    RETURN NULL;
END $$;

-- Events written before: the earliest due of their pending deliveries (a delivery held, or an
-- endpoint deleted, could leave a past time on an event of one delivery too).
UPDATE events e SET next_attempt_at = m.next
FROM (SELECT event_id, min(next_attempt_at) FILTER (WHERE status = 'pending') AS next
      FROM event_deliveries GROUP BY event_id) m
WHERE e.id = m.event_id AND e.next_attempt_at IS DISTINCT FROM m.next;
