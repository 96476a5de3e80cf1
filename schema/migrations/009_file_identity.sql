-- 009: source files known by content and by path relative to the config (DESIGN §6), events with
-- an identity, and conflicts between files counted.
-- etl_files.state: present (its rows loaded), empty (0 bytes or no records; its earlier rows stay),
-- gone (deleted; its rows stay), retracted (deleted or emptied, and its rows removed: on_missing: retract).
-- Existing manifest entries hold absolute paths: the next run adopts each by content under its
-- relative name (nothing reloads).
ALTER TABLE etl_files ADD COLUMN state VARCHAR DEFAULT 'present';
UPDATE etl_files SET state = 'present';
-- rows_conflict counts loaded rows that replaced another file's row of the same key with other
-- values (the later file wins; logged).
ALTER TABLE etl_runs ADD COLUMN rows_conflict BIGINT DEFAULT 0;
UPDATE etl_runs SET rows_conflict = 0;
-- stage_events.event_id is the event's identity: the source's event id when mapped, else the md5
-- of its canonical fields (filled in for existing events by the next run of an event job).
ALTER TABLE stage_events ADD COLUMN event_id VARCHAR;
