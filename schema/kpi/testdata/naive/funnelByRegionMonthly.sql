-- Funnel by region by month, naive: per period (p), month of case start and region, the cohort and
-- the cases reaching each stage ('' = the cohort), from the raw event log — the answer of one funnel
-- request with groupBy region and grain MONTH (each group's own series).
-- $1 = from, $2 = start of the previous period, $3 = to.
WITH cs AS (SELECT case_id, min(occurred_at) AS start FROM stage_events GROUP BY case_id),
  coh AS (SELECT case_id, CASE WHEN start >= $1 THEN 0 ELSE 1 END AS p, date_trunc('month', start) AS m
          FROM cs WHERE start >= $2 AND start < $3),
  r AS (SELECT DISTINCT e.case_id, e.stage FROM stage_events e SEMI JOIN coh USING (case_id) WHERE e.stage IS NOT NULL
        UNION ALL SELECT case_id, '' FROM coh),
  a AS (SELECT r.stage, coh.p, coh.m, coalesce(o.region, l.region) AS region FROM r JOIN coh USING (case_id)
        LEFT JOIN opportunities o ON o.opportunity_id = r.case_id LEFT JOIN leads l ON l.lead_id = r.case_id)
SELECT stage, p, m, region, count(*) FROM a GROUP BY GROUPING SETS ((stage, p, region), (stage, m, region))
