-- Value stream (lead to cash) by business unit by month, naive: the answer of one valueStream request
-- with groupBy business_unit and grain MONTH (each unit's own series). Dwell by a window over every
-- staged event, the cohort by first cash_collected; per period (p) or month of that event (m) and
-- business unit: stage time sums, cases, rework and percentiles, and the cohort's total span (stage
-- NULL). $1 = from, $2 = start of the previous period, $3 = to.
WITH e AS (SELECT case_id, stage, occurred_at,
    epoch(lead(occurred_at) OVER (PARTITION BY case_id ORDER BY occurred_at, seq)) - epoch(occurred_at) AS dwell
  FROM stage_events WHERE stage IS NOT NULL),
  cs AS (SELECT case_id, stage, sum(coalesce(dwell, 0)) / 86400 AS t, count(*) AS n FROM e GROUP BY ALL),
  done AS (SELECT case_id, CASE WHEN min(occurred_at) >= $1 THEN 0 ELSE 1 END AS p, date_trunc('month', min(occurred_at)) AS m
           FROM stage_events WHERE stage = 'cash_collected' GROUP BY case_id HAVING min(occurred_at) >= $2 AND min(occurred_at) < $3),
  span AS (SELECT case_id, (epoch(max(occurred_at)) - epoch(min(occurred_at))) / 86400 AS d FROM e SEMI JOIN done USING (case_id) GROUP BY case_id),
  a AS (SELECT cs.*, done.p, done.m, coalesce(o.business_unit, l.business_unit) AS bu FROM cs JOIN done USING (case_id)
        LEFT JOIN opportunities o ON o.opportunity_id = cs.case_id LEFT JOIN leads l ON l.lead_id = cs.case_id)
SELECT stage, p, m, bu, sum(t), count(*), count(*) FILTER (WHERE n >= 2), median(t), quantile_cont(t, 0.9)
FROM a GROUP BY GROUPING SETS ((stage, p, bu), (stage, m, bu))
UNION ALL
SELECT NULL, p, m, bu, sum(d), count(*), NULL, NULL, NULL FROM (SELECT span.d, done.p, done.m, coalesce(o.business_unit, l.business_unit) AS bu
  FROM span JOIN done USING (case_id)
  LEFT JOIN opportunities o ON o.opportunity_id = span.case_id LEFT JOIN leads l ON l.lead_id = span.case_id)
GROUP BY GROUPING SETS ((p, bu), (m, bu))
