-- A small CRM in PostgreSQL, as a replica or landing database would hold it: accounts, leads and
-- opportunities, each with an updated_at that every insert and update sets (the incremental
-- cursor), and opportunities soft-deleted through deleted_at.
--
--   createdb crm && psql -d crm -f examples/postgres-crm/seed.sql
CREATE SCHEMA crm;

CREATE TABLE crm.accounts (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    industry   text,
    segment    text,
    region     text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE crm.leads (
    id             text PRIMARY KEY,
    created_at     timestamptz NOT NULL,
    channel        text,
    account_id     text REFERENCES crm.accounts,
    owner          text,
    status         text NOT NULL,
    qualified_at   timestamptz,
    converted_at   timestamptz,
    opportunity_id text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE crm.opportunities (
    id          text PRIMARY KEY,
    lead_id     text REFERENCES crm.leads,
    account_id  text REFERENCES crm.accounts,
    owner       text,
    region      text,
    product     text,
    created_at  timestamptz NOT NULL,
    closed_at   timestamptz,
    stage       text NOT NULL,            -- Prospecting, Negotiation, Closed Won, Closed Lost
    amount      numeric(14, 2),
    currency    text NOT NULL DEFAULT 'EUR',
    deleted_at  timestamptz,              -- soft delete
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON crm.leads (updated_at);
CREATE INDEX ON crm.opportunities (updated_at);

INSERT INTO crm.accounts (id, name, industry, segment, region) VALUES
    ('A1', 'Nordwind GmbH', 'manufacturing', 'enterprise', 'DACH'),
    ('A2', 'Brightline Ltd', 'retail', 'mid-market', 'UK'),
    ('A3', 'Solano SA', 'energy', 'enterprise', 'Iberia');

-- Times are local (Europe/Berlin, +01:00 in winter); the warehouse stores them in UTC.
INSERT INTO crm.leads (id, created_at, channel, account_id, owner, status, qualified_at, converted_at, opportunity_id) VALUES
    ('L1', '2026-01-05 09:00+01', 'web',      'A1', 'anna', 'converted', '2026-01-07 10:00+01', '2026-01-12 11:00+01', 'O1'),
    ('L2', '2026-01-06 14:30+01', 'event',    'A2', 'ben',  'converted', '2026-01-08 09:00+01', '2026-01-15 16:00+01', 'O2'),
    ('L3', '2026-01-09 08:15+01', 'referral', 'A3', 'anna', 'converted', '2026-01-10 12:00+01', '2026-01-20 10:00+01', 'O3'),
    ('L4', '2026-01-12 11:00+01', 'web',      'A1', 'ben',  'converted', '2026-01-13 15:00+01', '2026-01-22 09:30+01', 'O4'),
    ('L5', '2026-01-14 16:45+01', 'web',      NULL, 'carl', 'qualified', '2026-01-19 10:00+01', NULL, NULL),
    ('L6', '2026-01-20 10:00+01', 'event',    NULL, 'carl', 'open',      NULL, NULL, NULL);

INSERT INTO crm.opportunities (id, lead_id, account_id, owner, region, product, created_at, closed_at, stage, amount, deleted_at) VALUES
    ('O1', 'L1', 'A1', 'anna', 'DACH',   'platform', '2026-01-12 11:00+01', '2026-02-20 17:00+01', 'Closed Won',  48000, NULL),
    ('O2', 'L2', 'A2', 'ben',  'UK',     'services', '2026-01-15 16:00+01', '2026-02-10 12:00+01', 'Closed Lost', 12000, NULL),
    ('O3', 'L3', 'A3', 'anna', 'Iberia', 'platform', '2026-01-20 10:00+01', NULL,                  'Negotiation', 75000, NULL),
    ('O4', 'L4', 'A1', 'ben',  'DACH',   'services', '2026-01-22 09:30+01', NULL,                  'Prospecting',  9000, '2026-01-30 08:00+01');
