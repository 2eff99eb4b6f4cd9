-- Whether a live (available or running) job holds any of these unique keys: the engine's
-- answer for SQL elsewhere (the settle sweep asks it for deliveries whose job is gone), so no
-- code outside the engine reads `jobs`. Served by the partial unique index on `unique_key`.
CREATE FUNCTION job_live(p_unique_keys text[]) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM jobs WHERE unique_key = ANY (p_unique_keys) AND state IN ('available', 'running'))
$$;
