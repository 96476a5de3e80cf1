-- Lead conversion, naive: leads by created_at per period and business unit, and those converted
-- (an opportunity or a converted_at). $1 = from, $2 = start of the previous period, $3 = to.
SELECT p, business_unit, grouping(business_unit), count(*), count(*) FILTER (WHERE opportunity_id IS NOT NULL OR converted_at IS NOT NULL)
FROM (SELECT CASE WHEN created_at >= $1 THEN 0 ELSE 1 END AS p, * FROM leads WHERE created_at >= $2 AND created_at < $3)
GROUP BY GROUPING SETS ((p), (p, business_unit))
