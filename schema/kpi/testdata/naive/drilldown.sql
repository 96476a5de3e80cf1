-- Drill-down, naive: the first page (50 + 1) of cases started in the scope that violate the
-- contract_review gate, from the raw tables. $1 = from, $3 = to ($2, the start of the previous
-- period, is unused: a page has no previous period).
WITH f AS (SELECT case_id, min(occurred_at) AS start, max(occurred_at) AS last, count(*) AS n,
    min({'t': occurred_at, 's': seq}) FILTER (WHERE stage = 'contract_signed') AS cs,
    min({'t': occurred_at, 's': seq}) FILTER (WHERE stage = 'contract_review' AND outcome = 'pass') AS crp
  FROM stage_events GROUP BY case_id HAVING start >= $1 AND start < $3 AND $2 IS NOT NULL)
SELECT f.case_id, coalesce(o.business_unit, l.business_unit), coalesce(o.region, l.region), f.start, f.last, f.n, o.status, o.closed_at
FROM f LEFT JOIN opportunities o ON o.opportunity_id = f.case_id LEFT JOIN leads l ON l.lead_id = f.case_id
WHERE f.cs IS NOT NULL AND (f.crp IS NULL OR f.crp > f.cs) ORDER BY f.start, f.case_id LIMIT 51
