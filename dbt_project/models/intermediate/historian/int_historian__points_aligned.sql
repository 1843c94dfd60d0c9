-- The historian knows no batch: a reading belongs to a batch because one of the batch's phases
-- ran on that equipment at that time (window [start, end), a range join every engine runs).
-- Readings outside every window (idle equipment) belong to no batch and are not kept here.
-- Overlapping exports repeat readings: per batch, parameter and instant a file's latest version
-- wins over a superseded one (same path, other bytes: stg_ingest__file_versions), then the
-- first-loaded file. Only files that overlap another file (int_historian__file_spans) can
-- repeat a reading, so only their readings go through the (costly) ranking.
{{ align_historian_points() }}
