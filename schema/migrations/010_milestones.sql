-- 010: KPIs on milestones, not stage ids (DESIGN §4, §5.3). kpi_case keeps the first event of the
-- milestones won, delivered, invoiced and cash_collected (won_at, delivered_at, invoiced_at,
-- collected_at); the lead-to-cash cycle ends at the first cash_collected (its in-span stage time in
-- kpi_case_stage.l2c_events / l2c_s) instead of the model's last stage (completed_at is gone); the
-- iron-triangle team is due past the model's iron_triangle_after stage (team_due). data_version
-- remembers the fingerprint of the model and definitions the derived tables were built with, so a
-- changed process model rebuilds them. Existing warehouses rebuild them once.
ALTER TABLE kpi_case RENAME COLUMN signed_at TO won_at;
ALTER TABLE kpi_case RENAME COLUMN accepted_at TO delivered_at;
ALTER TABLE kpi_case RENAME COLUMN past_design TO team_due;
ALTER TABLE kpi_case DROP COLUMN completed_at;
ALTER TABLE kpi_case_stage ADD COLUMN l2c_events INTEGER;
ALTER TABLE kpi_case_stage ADD COLUMN l2c_s DOUBLE;
ALTER TABLE data_version ADD COLUMN model_hash VARCHAR;
UPDATE data_version SET refresh_full = true, refresh_pending = (SELECT count(*) > 0 FROM kpi_case);
