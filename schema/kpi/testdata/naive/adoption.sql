-- Adoption, naive: the cohort by case start; per case the stages recorded, the furthest, the
-- branch, the non-gate stages expected on it up to the furthest (the standard model, inlined),
-- template events and iron-triangle roles; by period and business unit. $1 = from, $2 = start of
-- the previous period, $3 = to.
WITH m(pos, stage, gate, complex_only, tmpl) AS (VALUES
    (0, 'lead_created', false, false, false), (1, 'lead_qualified', false, false, false),
    (2, 'opportunity_created', false, false, false), (3, 'needs_analysis', false, false, true),
    (4, 'solution_design', false, true, true), (5, 'solution_review', true, true, false),
    (6, 'quote', false, false, true), (7, 'contract_review', true, false, false),
    (8, 'contract_signed', false, false, false), (9, 'delivery_started', false, false, false),
    (10, 'delivery_accepted', false, false, false), (11, 'invoiced', false, false, false),
    (12, 'cash_collected', false, false, false)),
  cs AS (SELECT case_id, min(occurred_at) AS start FROM stage_events GROUP BY case_id HAVING start >= $2 AND start < $3),
  ev AS (SELECT e.case_id, m.pos, m.tmpl, e.template_used FROM stage_events e JOIN m USING (stage) SEMI JOIN cs USING (case_id)),
  st AS (SELECT DISTINCT case_id, pos FROM ev),
  c AS (SELECT cs.case_id, cs.start >= $1 AS cur, coalesce(o.business_unit, l.business_unit) AS bu,
          coalesce(o.branch, CASE WHEN o.product_line IN ('Enterprise Platform', 'Custom Integration') THEN 'complex' ELSE 'standard' END) AS branch,
          (SELECT max(pos) FROM st WHERE st.case_id = cs.case_id) AS furthest,
          (SELECT count(*) FILTER (WHERE tmpl) FROM ev WHERE ev.case_id = cs.case_id) AS tn,
          (SELECT count(*) FILTER (WHERE tmpl AND template_used) FROM ev WHERE ev.case_id = cs.case_id) AS tu,
          (SELECT count(DISTINCT role) FROM assignments a WHERE a.opportunity_id = cs.case_id) AS roles
        FROM cs LEFT JOIN opportunities o ON o.opportunity_id = cs.case_id LEFT JOIN leads l ON l.lead_id = cs.case_id),
  x AS (SELECT c.case_id, count(*) AS expected, count(st.pos) AS recorded FROM c
        JOIN m ON m.pos <= c.furthest AND NOT m.gate AND (NOT m.complex_only OR c.branch = 'complex')
        LEFT JOIN st ON st.case_id = c.case_id AND st.pos = m.pos GROUP BY c.case_id),
  y AS (SELECT c.*, x.expected, x.recorded FROM c JOIN x USING (case_id))
SELECT cur, bu, count(*), count(*) FILTER (WHERE recorded = expected), avg(recorded / expected), sum(tn), sum(tu),
       count(*) FILTER (WHERE furthest > 4), count(*) FILTER (WHERE furthest > 4 AND roles >= 3)
FROM y GROUP BY GROUPING SETS ((cur), (cur, bu))
