-- 005: change initiatives (DESIGN §5.8) as the KPI engine stores them (schema/kpi/initiative.go).
-- 001 created initiatives, initiative_waves and initiative_targets; this adds where a definition
-- came from and when it last changed, so that the initiatives declared in ltc.yaml can be synced at
-- start (upserted, and removed once dropped from the file) without touching those managed through
-- the API.

-- source: 'config' (declared in ltc.yaml) or 'api' (created through the API).
ALTER TABLE initiatives ADD COLUMN source VARCHAR DEFAULT 'api';
ALTER TABLE initiatives ADD COLUMN updated_at TIMESTAMP;
