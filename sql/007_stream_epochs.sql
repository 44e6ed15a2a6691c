-- Fenced progress: each stored event records the newest lease epoch its stream had seen when it was
-- appended (the high-water mark). An append carrying an older epoch is refused, so a worker whose
-- lease was taken over can no longer write to the op's stream (src/lro/sql/stream-events.ts).
-- The ring always keeps a stream's newest event, so the mark lives on that row: no second table to
-- write on the hot path, and the lookup is the one that already finds where seqs continue.
-- NULL (events stored before this migration) counts as epoch 0.
ALTER TABLE lro_stream_events ADD COLUMN epoch integer;
