-- Funnel, naive: per period (p 0 = current, 1 = previous) and business unit, the cohort by case
-- start (first event) and the cases reaching each stage ('' = the cohort itself), from the raw
-- event log. $1 = from, $2 = start of the previous period, $3 = to.
WITH cs AS (SELECT case_id, min(occurred_at) AS start FROM stage_events GROUP BY case_id),
  coh AS (SELECT case_id, CASE WHEN start >= $1 THEN 0 ELSE 1 END AS p FROM cs WHERE start >= $2 AND start < $3),
  r AS (SELECT DISTINCT e.case_id, e.stage FROM stage_events e SEMI JOIN coh USING (case_id) WHERE e.stage IS NOT NULL
        UNION ALL SELECT case_id, '' FROM coh),
  a AS (SELECT r.stage, coh.p, coalesce(o.business_unit, l.business_unit) AS bu FROM r JOIN coh USING (case_id)
        LEFT JOIN opportunities o ON o.opportunity_id = r.case_id LEFT JOIN leads l ON l.lead_id = r.case_id)
SELECT stage, p, bu, grouping(bu) AS total, count(*) FROM a GROUP BY GROUPING SETS ((stage, p), (stage, p, bu))
