-- 003: derived tables of the KPI engine (schema/kpi). They hold no source data: (*kpi.Engine).Refresh
-- rebuilds them whole from the canonical tables inside every ETL transaction, with
-- CREATE OR REPLACE TABLE … AS SELECT producing exactly these columns and types (a test checks it),
-- so KPI queries read one row per case (or per case and stage, case and gate, lead, invoice, payment,
-- delivery) instead of running window functions over the event log. No keys or indexes: each table
-- is written sorted by the timestamp its queries range over, so DuckDB's zone maps skip the rest.
-- The schema does not depend on the process model: a stage is its position p in the model's stage
-- list (0-based), and sets of stages are bitmasks (bit p = 1 << p, so a model has at most 62 stages).

-- kpi_case: one row per case (opportunity id, or lead id before conversion), sorted by started_at.
CREATE TABLE kpi_case (
    case_id         VARCHAR NOT NULL,
    business_unit   VARCHAR,
    region          VARCHAR,
    segment         VARCHAR,
    product_line    VARCHAR,
    channel         VARCHAR,
    owner           VARCHAR,
    team            VARCHAR,
    branch          VARCHAR,
    started_at      TIMESTAMP,   -- case start: first event of any tier (NULL: no events)
    last_at         TIMESTAMP,   -- last event of any tier
    events          INTEGER,     -- events of any tier
    first_staged_at TIMESTAMP,   -- first / last event of a model stage (personal tier dropped)
    last_staged_at  TIMESTAMP,
    reached         BIGINT,      -- bitmask of the stages with at least one event (NULL: none)
    furthest        SMALLINT,    -- furthest stage position reached (NULL: none)
    signed_at       TIMESTAMP,   -- first contract_signed, delivery_accepted, invoiced, cash_collected
    accepted_at     TIMESTAMP,   -- event (cycle times; NULL when not reached or not in the model)
    invoiced_at     TIMESTAMP,
    collected_at    TIMESTAMP,
    completed_at    TIMESTAMP,   -- first event of the model's last stage (value-stream cohort)
    guarded_at      TIMESTAMP,   -- first entry of any guarded stage whose gate applies to the branch
    violated        BOOLEAN,     -- a violation at some gate (see kpi_case_gate; NULL: no gate applies)
    expected_n      SMALLINT,    -- non-gate stages expected on the branch up to furthest
    recorded_n      SMALLINT,    -- of those, stages with an event
    tmpl_n          INTEGER,     -- events on stages where a template applies
    tmpl_used       INTEGER,     -- of those, events with template_used
    past_design     BOOLEAN,     -- furthest is beyond solution_design (NULL: the model has none)
    roles_n         SMALLINT,    -- distinct iron-triangle roles assigned
    variant         VARCHAR,     -- stage positions of staged events in order, joined by '.'
    status          VARCHAR,     -- opportunity status
    closed_at       TIMESTAMP
);

-- kpi_case_stage: one row per case and stage reached (value stream, windowed funnel), unordered.
CREATE TABLE kpi_case_stage (
    case_id   VARCHAR NOT NULL,
    stage_pos SMALLINT NOT NULL,  -- the stage's position in the model
    first_at  TIMESTAMP NOT NULL, -- its first event
    events    INTEGER NOT NULL,   -- its events (≥ 2: rework)
    time_s    DOUBLE NOT NULL     -- stage time in seconds: sum of its events' dwells (DESIGN §5.4)
);

-- kpi_case_gate: one row per case and gate applying to its branch whose guarded stage the case
-- entered (compliance, violations), sorted by entered_at, with the case's attributes.
CREATE TABLE kpi_case_gate (
    case_id       VARCHAR NOT NULL,
    gate_pos      SMALLINT NOT NULL,  -- the gate stage's position in the model
    entered_at    TIMESTAMP NOT NULL, -- first entry of the guarded stage
    kind          VARCHAR NOT NULL,   -- compliant | missing | failed | late
    business_unit VARCHAR, region VARCHAR, segment VARCHAR, product_line VARCHAR,
    channel VARCHAR, owner VARCHAR, team VARCHAR, branch VARCHAR
);

-- kpi_lead: one row per lead with the attributes of its case (lead conversion).
CREATE TABLE kpi_lead (
    lead_id       VARCHAR NOT NULL,
    case_id       VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    converted     BOOLEAN NOT NULL,
    business_unit VARCHAR, region VARCHAR, segment VARCHAR, product_line VARCHAR,
    channel VARCHAR, owner VARCHAR, team VARCHAR, branch VARCHAR
);

-- kpi_invoice: one row per invoice with the attributes of its case (cash).
CREATE TABLE kpi_invoice (
    invoice_id    VARCHAR NOT NULL,
    case_id       VARCHAR,
    issued_at     TIMESTAMP NOT NULL,
    due_at        TIMESTAMP,
    amount        DOUBLE NOT NULL,
    business_unit VARCHAR, region VARCHAR, segment VARCHAR, product_line VARCHAR,
    channel VARCHAR, owner VARCHAR, team VARCHAR, branch VARCHAR
);

-- kpi_payment: one row per payment with its invoice's dates and its case's attributes.
CREATE TABLE kpi_payment (
    payment_id    VARCHAR NOT NULL,
    invoice_id    VARCHAR NOT NULL,
    received_at   TIMESTAMP NOT NULL,
    amount        DOUBLE NOT NULL,
    issued_at     TIMESTAMP NOT NULL,  -- of the invoice
    due_at        TIMESTAMP,
    business_unit VARCHAR, region VARCHAR, segment VARCHAR, product_line VARCHAR,
    channel VARCHAR, owner VARCHAR, team VARCHAR, branch VARCHAR
);

-- kpi_delivery: one row per accepted delivery (promise kept).
CREATE TABLE kpi_delivery (
    delivery_id   VARCHAR NOT NULL,
    case_id       VARCHAR,
    accepted_at   TIMESTAMP NOT NULL,
    kept          BOOLEAN NOT NULL,  -- accepted at or before the contract's committed_delivery_at
    business_unit VARCHAR, region VARCHAR, segment VARCHAR, product_line VARCHAR,
    channel VARCHAR, owner VARCHAR, team VARCHAR, branch VARCHAR
);
