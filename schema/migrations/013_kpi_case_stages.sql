-- 013: kpi_case.stages, the case's kpi_case_stage rows as a list (one struct per stage reached,
-- sorted by stage position, the same columns; NULL: no staged event), so the value stream reads a
-- case's stage times next to its attributes in one scan of kpi_case instead of joining
-- kpi_case_stage on the case id. Existing warehouses rebuild the derived tables once.
ALTER TABLE kpi_case ADD COLUMN stages STRUCT(pos SMALLINT, first_at TIMESTAMP, events INTEGER,
    sales_events INTEGER, sales_s DOUBLE, delivery_events INTEGER, delivery_s DOUBLE,
    cash_events INTEGER, cash_s DOUBLE, l2c_events INTEGER, l2c_s DOUBLE)[];
UPDATE data_version SET refresh_full = true, refresh_pending = (SELECT count(*) > 0 FROM kpi_case);
