-- Cycle times, naive: each case's start and first milestone events (the standard model's stage
-- ids), the four durations (sales, delivery, cash, l2c) by the period of their end event and
-- business unit: (k, cur, bu, total, n, p50, p90, mean days). $1 = from, $2 = start of the
-- previous period, $3 = to.
WITH f AS (SELECT case_id, min(occurred_at) AS start,
    min(occurred_at) FILTER (WHERE stage = 'contract_signed') AS cs,
    min(occurred_at) FILTER (WHERE stage = 'delivery_accepted') AS da,
    min(occurred_at) FILTER (WHERE stage = 'invoiced') AS inv,
    min(occurred_at) FILTER (WHERE stage = 'cash_collected') AS cc
  FROM stage_events GROUP BY case_id),
  d AS (SELECT case_id, 'sales' AS k, cs AS e, start AS b FROM f UNION ALL SELECT case_id, 'delivery', da, cs FROM f
        UNION ALL SELECT case_id, 'cash', cc, inv FROM f UNION ALL SELECT case_id, 'l2c', cc, start FROM f),
  x AS (SELECT k, e >= $1 AS cur, coalesce(o.business_unit, l.business_unit) AS bu, (epoch(e) - epoch(b)) / 86400 AS days
        FROM d LEFT JOIN opportunities o ON o.opportunity_id = d.case_id LEFT JOIN leads l ON l.lead_id = d.case_id
        WHERE e >= $2 AND e < $3 AND b <= e)
SELECT k, cur, bu, grouping(bu) AS total, count(*), quantile_cont(days, 0.5), quantile_cont(days, 0.9), avg(days)
FROM x GROUP BY GROUPING SETS ((k, cur), (k, cur, bu))
