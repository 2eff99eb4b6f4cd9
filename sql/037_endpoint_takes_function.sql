-- Which endpoints take an event, written once: by the events insert trigger as it fans an event
-- out, and by the Swift side (DeliveryStore.takes: recover, redeliver) through this function.
-- An endpoint takes an event its filters take (an empty filter takes all); an `endpoint.*`
-- event is about one endpoint and goes to the others only, but `endpoint.test` goes to the one
-- it names only, whatever its filters. A plain expression of its arguments, so the planner
-- inlines it where it is called.
CREATE FUNCTION event_endpoint_takes(event_type text, event_data jsonb, endpoint_id text, event_types text[], tenant_ids text[])
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN event_type = 'endpoint.test' THEN event_data->>'endpointId' = endpoint_id
           ELSE (cardinality(event_types) = 0 OR event_type = ANY (event_types))
                AND (cardinality(tenant_ids) = 0 OR event_data->>'tenantId' = ANY (tenant_ids))
                AND NOT (event_type LIKE 'endpoint.%' AND event_data->>'endpointId' = endpoint_id) END
$$;

-- The trigger of 035 with the rule above; a notice about an endpoint (`endpoint.*` but a test)
-- is not kept for a disabled one, as before.
CREATE OR REPLACE FUNCTION events_enqueue_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    queued bigint;
BEGIN
    WITH made AS (
        INSERT INTO event_deliveries (event_id, endpoint_id, event_created_at, status)
        SELECT n.id, p.id, n.created_at, CASE WHEN p.status = 'enabled' THEN 'pending' ELSE 'held' END
        FROM new_events n JOIN event_endpoints p ON p.account_id = n.account_id
        WHERE event_endpoint_takes(n.type, n.data, p.id, p.event_types, p.tenant_ids)
          AND NOT (n.type LIKE 'endpoint.%' AND n.type <> 'endpoint.test' AND p.status <> 'enabled')
        RETURNING event_id, endpoint_id, status)
    SELECT count(job_enqueue('events.deliver',
                             jsonb_build_object('eventId', m.event_id, 'endpointId', m.endpoint_id, 'accountId', n.account_id),
                             'deliver:' || m.event_id || ':' || m.endpoint_id))
    INTO queued FROM made m JOIN new_events n ON n.id = m.event_id WHERE m.status = 'pending';
    RETURN NULL;
END $$;
