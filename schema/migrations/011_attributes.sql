-- 011: custom dimensions (DESIGN §4 "Dimensions"). Leads and opportunities keep the extra source
-- columns a source maps into attributes (columns: {attributes.<name>: …}) as a map of attribute
-- name → value; a case takes its earliest lead's, overridden per key by its opportunity's, and
-- the derived tables carry the case's map so KPIs filter and group on the dimensions ltc.yaml
-- declares over them. Existing warehouses rebuild the derived tables once.
ALTER TABLE leads ADD COLUMN attributes MAP(VARCHAR, VARCHAR);
ALTER TABLE opportunities ADD COLUMN attributes MAP(VARCHAR, VARCHAR);
ALTER TABLE kpi_case ADD COLUMN attributes MAP(VARCHAR, VARCHAR);
ALTER TABLE kpi_case_gate ADD COLUMN attributes MAP(VARCHAR, VARCHAR);
ALTER TABLE kpi_lead ADD COLUMN attributes MAP(VARCHAR, VARCHAR);
ALTER TABLE kpi_invoice ADD COLUMN attributes MAP(VARCHAR, VARCHAR);
ALTER TABLE kpi_payment ADD COLUMN attributes MAP(VARCHAR, VARCHAR);
ALTER TABLE kpi_delivery ADD COLUMN attributes MAP(VARCHAR, VARCHAR);
UPDATE data_version SET refresh_full = true, refresh_pending = (SELECT count(*) > 0 FROM kpi_case);
