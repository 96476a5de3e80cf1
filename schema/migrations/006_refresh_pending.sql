-- 006: a batch of ETL jobs commits each job's rows, then refreshes the derived tables and bumps
-- the data version once. refresh_pending is set between the two, so a crash in between is
-- repaired at the next start.
ALTER TABLE data_version ADD COLUMN refresh_pending BOOLEAN DEFAULT false;
UPDATE data_version SET refresh_pending = false;
