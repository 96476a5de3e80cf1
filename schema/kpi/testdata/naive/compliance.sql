-- Compliance, naive: per gate (the review gate only on the complex branch), period and business
-- unit, entries of the guarded stage by outcome; the overall rate by first guarded entry ('all',
-- kind = violated); promise kept ('promise'). Columns: (gate, cur, bu, total, kind, count).
-- $1 = from, $2 = start of the previous period, $3 = to.
WITH f AS (SELECT case_id,
    min({'t': occurred_at, 's': seq}) FILTER (WHERE stage = 'quote') AS q,
    min({'t': occurred_at, 's': seq}) FILTER (WHERE stage = 'solution_review') AS sr,
    min({'t': occurred_at, 's': seq}) FILTER (WHERE stage = 'solution_review' AND outcome = 'pass') AS srp,
    min({'t': occurred_at, 's': seq}) FILTER (WHERE stage = 'contract_signed') AS cs,
    min({'t': occurred_at, 's': seq}) FILTER (WHERE stage = 'contract_review') AS cr,
    min({'t': occurred_at, 's': seq}) FILTER (WHERE stage = 'contract_review' AND outcome = 'pass') AS crp
  FROM stage_events WHERE stage IN ('quote', 'solution_review', 'contract_signed', 'contract_review') GROUP BY case_id),
  c AS (SELECT f.*, coalesce(o.business_unit, l.business_unit) AS bu,
          coalesce(o.branch, CASE WHEN o.product_line IN ('Enterprise Platform', 'Custom Integration') THEN 'complex' ELSE 'standard' END) AS branch
        FROM f LEFT JOIN opportunities o ON o.opportunity_id = f.case_id LEFT JOIN leads l ON l.lead_id = f.case_id),
  g AS (SELECT case_id, bu, 'solution_review' AS gate, q.t AS eat,
          CASE WHEN srp < q THEN 'compliant' WHEN srp IS NOT NULL THEN 'late' WHEN sr < q THEN 'failed' ELSE 'missing' END AS kind
        FROM c WHERE q IS NOT NULL AND branch = 'complex'
        UNION ALL
        SELECT case_id, bu, 'contract_review', cs.t,
          CASE WHEN crp < cs THEN 'compliant' WHEN crp IS NOT NULL THEN 'late' WHEN cr < cs THEN 'failed' ELSE 'missing' END
        FROM c WHERE cs IS NOT NULL),
  o AS (SELECT case_id, any_value(bu) AS bu, min(eat) AS eat, bool_or(kind <> 'compliant') AS violated FROM g GROUP BY case_id),
  d AS (SELECT coalesce(op.business_unit, '') AS bu, dl.accepted_at AS eat, coalesce(dl.accepted_at <= k.committed_delivery_at, false) AS kept
        FROM deliveries dl LEFT JOIN contracts k ON k.contract_id = dl.contract_id LEFT JOIN opportunities op ON op.opportunity_id = k.opportunity_id
        WHERE dl.accepted_at >= $2 AND dl.accepted_at < $3)
SELECT gate, eat >= $1 AS cur, bu, grouping(bu) AS total, kind, count(*) FROM g WHERE eat >= $2 AND eat < $3 GROUP BY GROUPING SETS ((gate, cur, kind), (gate, cur, bu, kind))
UNION ALL SELECT 'all', eat >= $1 AS cur, bu, grouping(bu), violated::VARCHAR, count(*) FROM o WHERE eat >= $2 AND eat < $3 GROUP BY GROUPING SETS ((cur, violated), (cur, bu, violated))
UNION ALL SELECT 'promise', eat >= $1 AS cur, bu, grouping(bu), kept::VARCHAR, count(*) FROM d GROUP BY GROUPING SETS ((cur, kept), (cur, bu, kept))
