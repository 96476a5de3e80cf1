-- Win rate, naive: closed opportunities that have events, by closed_at per period and business
-- unit: (p, bu, total, closed, won); win rate = won / closed. $1 = from, $2 = start of the
-- previous period, $3 = to.
WITH cs AS (SELECT case_id FROM stage_events GROUP BY case_id),
  c AS (SELECT CASE WHEN o.closed_at >= $1 THEN 0 ELSE 1 END AS p, o.business_unit AS bu, o.status
        FROM opportunities o SEMI JOIN cs ON cs.case_id = o.opportunity_id
        WHERE o.status IN ('won', 'lost') AND o.closed_at >= $2 AND o.closed_at < $3)
SELECT p, bu, grouping(bu) AS total, count(*), count(*) FILTER (WHERE status = 'won') FROM c GROUP BY GROUPING SETS ((p), (p, bu))
