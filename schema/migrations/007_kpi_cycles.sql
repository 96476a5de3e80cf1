-- 007: the value stream per measured cycle (DESIGN §5.4, schema/kpi ValueStreamOf). Besides a
-- case's whole time in a stage (events, time_s), kpi_case_stage keeps the part spent inside each
-- cycle's span: the stage's events ordered at or after the cycle's start event and before its end
-- event, by (occurred_at, seq), and the sum of their dwells. Sales: first staged event → first
-- contract_signed; delivery: first contract_signed → first delivery_accepted; cash: first invoiced
-- → first cash_collected. 0 when the case has no such span (Refresh writes every column).
ALTER TABLE kpi_case_stage ADD COLUMN sales_events INTEGER;
ALTER TABLE kpi_case_stage ADD COLUMN sales_s DOUBLE;
ALTER TABLE kpi_case_stage ADD COLUMN delivery_events INTEGER;
ALTER TABLE kpi_case_stage ADD COLUMN delivery_s DOUBLE;
ALTER TABLE kpi_case_stage ADD COLUMN cash_events INTEGER;
ALTER TABLE kpi_case_stage ADD COLUMN cash_s DOUBLE;
