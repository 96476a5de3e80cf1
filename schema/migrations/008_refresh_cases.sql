-- 008: incremental refresh of the derived tables. Each committing ETL job records in refresh_cases
-- the cases its changed rows belong to, before and after the change (schema.Target.Cases); the
-- next refresh rebuilds only those cases' rows and empties the table. refresh_full asks for a
-- whole rebuild instead: a first load, a job that changed a large part of a table, derived events,
-- an import. Existing warehouses start with one full rebuild.
CREATE TABLE refresh_cases (case_id VARCHAR);
ALTER TABLE data_version ADD COLUMN refresh_full BOOLEAN DEFAULT true;
UPDATE data_version SET refresh_full = true;
