-- Cheaper creates (a 1,000-op bulk create's server time, perf and EXPLAIN ANALYZE; src/lro/sql/operations.ts).

-- The kind's CHECK, equivalent and ~4x cheaper: the bounded repetition `{0,62}` made the regex
-- engine walk a large automaton for every row written (~3 µs each: 6 % of the server's time of a
-- bulk create), and a CHECK runs on every UPDATE of the row too (claims, heartbeats, completions).
-- The same names pass: a lowercase letter, then up to 62 of [a-z0-9_-] (ASCII: length() counts them
-- as the bound did).
ALTER TABLE long_running_operations DROP CONSTRAINT long_running_operations_kind_check,
  ADD CONSTRAINT long_running_operations_kind_check CHECK (kind ~ '^[a-z][a-z0-9_-]*$' AND length(kind) <= 63);

-- The insert statements notify `lro_queued` themselves, from the rows they return: this trigger
-- copied every inserted row into a transition table and ran a PL/pgSQL function over it (~4 ms of a
-- 1,000-op insert's ~30). A row inserted by hand, outside the store, is found by the workers' poll.
DROP TRIGGER lro_after_insert ON long_running_operations;
DROP FUNCTION lro_notify_insert();
