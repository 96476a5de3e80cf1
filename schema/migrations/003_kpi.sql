-- 003: derived tables of the KPI engine (schema/kpi). They hold no source data: (*kpi.Engine).Refresh
-- rebuilds them whole from the canonical tables inside every ETL transaction (hence no keys or indexes),
-- so KPI queries read one row per case (lead, invoice, payment, delivery) instead of running window
-- functions over the event log.
-- Per-stage columns are lists indexed by the stage's position in the process model (1-based in SQL:
-- element p+1 is model.Stages[p]); per-gate lists are indexed by the gate's order among gate stages.

-- kpi_case: one row per case (opportunity id, or lead id before conversion) with its attributes.
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
    first_staged_at TIMESTAMP,   -- first / last event of a model stage (personal tier dropped)
    last_staged_at  TIMESTAMP,
    events          INTEGER,     -- events of any tier
    s_first         TIMESTAMP[], -- first event of each stage, NULL when not reached
    s_n             INTEGER[],   -- events of each stage (0 when not reached)
    s_time          DOUBLE[],    -- stage time in seconds: sum of dwells (DESIGN §5.4)
    g_entered       TIMESTAMP[], -- per gate: first entry of the guarded stage (NULL: not entered or gate not on branch)
    g_kind          VARCHAR[],   -- per gate: compliant | missing | failed | late (NULL as above)
    furthest        INTEGER,     -- furthest stage position reached (NULL: none)
    expected_n      INTEGER,     -- non-gate stages expected on the branch up to furthest
    recorded_n      INTEGER,     -- of those, stages with an event
    tmpl_n          INTEGER,     -- events on stages where a template applies
    tmpl_used       INTEGER,     -- of those, events with template_used
    past_design     BOOLEAN,     -- furthest is beyond solution_design (NULL: the model has none)
    roles_n         INTEGER,     -- distinct iron-triangle roles assigned
    completed_at    TIMESTAMP,   -- first event of the model's last stage (value-stream cohort)
    variant         VARCHAR,     -- stage positions of staged events in order, joined by '.'
    status          VARCHAR,     -- opportunity status
    closed_at       TIMESTAMP
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
