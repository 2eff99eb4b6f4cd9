-- `endpoint.test` (POST /api/v1/event-endpoints/{id}/test) goes to the one endpoint it names,
-- whatever that endpoint's filters; every other event keeps the rule of 022. The same rule in
-- Swift is DeliveryStore.takes.
CREATE OR REPLACE FUNCTION events_enqueue_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    queued bigint;
BEGIN
    WITH made AS (
        INSERT INTO event_deliveries (event_id, endpoint_id, event_created_at, status)
        SELECT n.id, p.id, n.created_at, CASE WHEN p.status = 'enabled' THEN 'pending' ELSE 'held' END
        FROM new_events n JOIN event_endpoints p ON p.account_id = n.account_id
        WHERE CASE WHEN n.type = 'endpoint.test' THEN n.data->>'endpointId' = p.id
              ELSE (cardinality(p.event_types) = 0 OR n.type = ANY (p.event_types))
                   AND (cardinality(p.tenant_ids) = 0 OR n.data->>'tenantId' = ANY (p.tenant_ids))
                   AND NOT (n.type LIKE 'endpoint.%' AND (n.data->>'endpointId' = p.id OR p.status <> 'enabled')) END
        RETURNING event_id, endpoint_id, status)
    SELECT count(job_enqueue('events.deliver',
                             jsonb_build_object('eventId', m.event_id, 'endpointId', m.endpoint_id, 'accountId', n.account_id),
                             'deliver:' || m.event_id || ':' || m.endpoint_id))
    INTO queued FROM made m JOIN new_events n ON n.id = m.event_id WHERE m.status = 'pending';
    RETURN NULL;
END $$;
