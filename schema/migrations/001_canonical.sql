-- 001: the canonical lead-to-cash tables of DESIGN §3.
-- Every entity table carries _file, the source file that contributed the row, so a changed
-- file can replace exactly the rows it contributed. Natural keys are source IDs.

CREATE TABLE accounts (
    account_id  VARCHAR PRIMARY KEY,
    name        VARCHAR,
    industry    VARCHAR,
    segment     VARCHAR,
    region      VARCHAR,
    _file       VARCHAR NOT NULL
);

CREATE TABLE employees (
    employee_id   VARCHAR PRIMARY KEY,
    name          VARCHAR,
    role          VARCHAR,
    team          VARCHAR,
    manager       VARCHAR,
    business_unit VARCHAR,
    region        VARCHAR,
    hired_at      TIMESTAMP,
    certified_at  TIMESTAMP,
    _file         VARCHAR NOT NULL
);

CREATE TABLE leads (
    lead_id        VARCHAR PRIMARY KEY,
    created_at     TIMESTAMP NOT NULL,
    channel        VARCHAR,
    campaign       VARCHAR,
    account_id     VARCHAR,
    owner_id       VARCHAR,
    business_unit  VARCHAR,
    region         VARCHAR,
    segment        VARCHAR,
    status         VARCHAR,
    qualified_at   TIMESTAMP,
    converted_at   TIMESTAMP,
    opportunity_id VARCHAR,
    _file          VARCHAR NOT NULL
);

CREATE TABLE opportunities (
    opportunity_id VARCHAR PRIMARY KEY,
    lead_id        VARCHAR,
    account_id     VARCHAR,
    owner_id       VARCHAR,
    business_unit  VARCHAR,
    region         VARCHAR,
    segment        VARCHAR,
    product_line   VARCHAR,
    branch         VARCHAR,
    created_at     TIMESTAMP,
    closed_at      TIMESTAMP,
    status         VARCHAR NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    amount         DECIMAL(18, 2) CHECK (amount >= 0),
    currency       VARCHAR,
    _file          VARCHAR NOT NULL
);

-- stage_events is the LTC event log. source names where the event came from ('derived' for
-- events derived from entity timestamps, else the source job); seq keeps source order.
CREATE TABLE stage_events (
    case_id       VARCHAR NOT NULL,
    stage         VARCHAR,
    activity      VARCHAR NOT NULL,
    occurred_at   TIMESTAMP NOT NULL,
    actor_id      VARCHAR,
    actor_role    VARCHAR,
    outcome       VARCHAR CHECK (outcome IN ('pass', 'fail')),
    template_used BOOLEAN,
    source        VARCHAR NOT NULL,
    seq           BIGINT NOT NULL,
    _file         VARCHAR NOT NULL
);

CREATE TABLE contracts (
    contract_id           VARCHAR PRIMARY KEY,
    opportunity_id        VARCHAR NOT NULL,
    signed_at             TIMESTAMP NOT NULL,
    value                 DECIMAL(18, 2) CHECK (value >= 0),
    committed_delivery_at TIMESTAMP,
    _file                 VARCHAR NOT NULL
);

CREATE TABLE deliveries (
    delivery_id VARCHAR PRIMARY KEY,
    contract_id VARCHAR NOT NULL,
    started_at  TIMESTAMP,
    accepted_at TIMESTAMP,
    csat        DOUBLE,
    _file       VARCHAR NOT NULL
);

CREATE TABLE invoices (
    invoice_id  VARCHAR PRIMARY KEY,
    contract_id VARCHAR NOT NULL,
    issued_at   TIMESTAMP NOT NULL,
    due_at      TIMESTAMP,
    amount      DECIMAL(18, 2) NOT NULL CHECK (amount >= 0),
    _file       VARCHAR NOT NULL
);

CREATE TABLE payments (
    payment_id  VARCHAR PRIMARY KEY,
    invoice_id  VARCHAR NOT NULL,
    received_at TIMESTAMP NOT NULL,
    amount      DECIMAL(18, 2) NOT NULL CHECK (amount >= 0),
    _file       VARCHAR NOT NULL
);

CREATE TABLE assignments (
    opportunity_id VARCHAR NOT NULL,
    employee_id    VARCHAR NOT NULL,
    role           VARCHAR NOT NULL CHECK (role IN ('sales', 'solution', 'delivery')),
    assigned_at    TIMESTAMP,
    _file          VARCHAR NOT NULL,
    PRIMARY KEY (opportunity_id, employee_id, role)
);

CREATE TABLE marketing_spend (
    period_start  DATE NOT NULL,
    period_end    DATE NOT NULL,
    channel       VARCHAR NOT NULL,
    business_unit VARCHAR NOT NULL,
    amount        DECIMAL(18, 2) NOT NULL CHECK (amount >= 0),
    _file         VARCHAR NOT NULL,
    PRIMARY KEY (period_start, channel, business_unit)
);

-- initiatives are pilots and rollout waves of an LTC transformation (DESIGN §5.8).
CREATE TABLE initiatives (
    initiative_id  VARCHAR PRIMARY KEY,
    name           VARCHAR NOT NULL,
    description    VARCHAR,
    pilot_units    VARCHAR[] NOT NULL,
    control_units  VARCHAR[],
    baseline_start TIMESTAMP NOT NULL,
    baseline_end   TIMESTAMP NOT NULL,
    start_at       TIMESTAMP NOT NULL,
    sprint_days    INTEGER NOT NULL DEFAULT 14 CHECK (sprint_days > 0)
);

CREATE TABLE initiative_waves (
    initiative_id VARCHAR NOT NULL,
    business_unit VARCHAR NOT NULL,
    planned_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (initiative_id, business_unit)
);

CREATE TABLE initiative_targets (
    initiative_id VARCHAR NOT NULL,
    kpi           VARCHAR NOT NULL,
    target        DOUBLE NOT NULL,
    PRIMARY KEY (initiative_id, kpi)
);
