-- What the `summary` event of an op needs in SQL (src/lro/sql/stream-events.ts, summaryEvent), so that
-- a statement that changes ops can append their summaries to their streams in the same statement:
-- no second statement, no second commit, no JSON built and quoted in Node, and a summary commits
-- with the change it announces, in order (a create's `queued` summary published after the commit
-- could land after the claim's `running` one and be refused as stale).
--
-- The event is what OpEvents' summaryOf() builds in Node, field for field: readers see no difference.
-- Its expression lives in TypeScript over the changed rows' columns, not in a function of the row:
-- a composite argument kept Postgres from inlining it, and each call then cost ~5 µs.

-- A timestamp as JSON.stringify writes a Date: UTC, milliseconds, 'Z'.
CREATE FUNCTION lro_iso(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
  RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

-- A progress summary as it reads once the op is not running: speeds stay, ETAs go (withoutEtas()).
CREATE FUNCTION lro_without_etas(s jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN jsonb_typeof(s -> 'phases') = 'array' AND jsonb_path_exists(s, '$.phases[*].eta_s')
    THEN jsonb_set(s, '{phases}', (SELECT jsonb_agg(CASE WHEN jsonb_typeof(p) = 'object' THEN p - 'eta_s' ELSE p END ORDER BY i)
                                     FROM jsonb_array_elements(s -> 'phases') WITH ORDINALITY a (p, i)))
    ELSE s END;

-- sql/001's update trigger joins a statement's old rows to its new ones, and PL/pgSQL keeps that
-- query's plan per connection, made for the row count of the first statement it saw there: after a
-- one-row update, a 5,000-row one ran a nested loop over both (1.8 s to cancel 5,000 ops, against
-- 0.1 s). Without nested loops the join is hashed at any size.
ALTER FUNCTION lro_notify_update() SET enable_nestloop = off;
