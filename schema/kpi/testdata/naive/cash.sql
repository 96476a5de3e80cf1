-- Cash, naive: invoices and payments with their case's business unit through contracts and
-- opportunities, measured over the current (k 0) and previous (k 1) period: open invoices
-- issued, billed, collected, receivables and overdue at the period end, collected of those issued,
-- and receivables by days past due (not due, 0–30, 31–60, 61–90, over 90).
-- $1 = from, $2 = start of the previous period, $3 = to.
WITH w(k, f, t, a) AS (VALUES (0, $1, $3, $3), (1, $2, $1, $1)),
  inv AS (SELECT i.invoice_id, i.issued_at, i.due_at, CAST(i.amount AS DOUBLE) AS amount, o.business_unit AS bu
          FROM invoices i LEFT JOIN contracts k ON k.contract_id = i.contract_id
          LEFT JOIN opportunities o ON o.opportunity_id = k.opportunity_id),
  r AS (SELECT bu, issued_at, due_at, issued_at AS at, NULL::TIMESTAMP AS received_at, amount AS inv, 0.0 AS pay FROM inv WHERE issued_at < $3
        UNION ALL SELECT i.bu, i.issued_at, i.due_at, p.received_at, p.received_at, 0.0, CAST(p.amount AS DOUBLE)
        FROM payments p JOIN inv i ON i.invoice_id = p.invoice_id WHERE p.received_at < $3)
SELECT w.k, r.bu,
  count(*) FILTER (WHERE r.received_at IS NULL AND r.issued_at >= w.f AND r.issued_at < w.t),
  sum(r.inv) FILTER (WHERE r.received_at IS NULL AND r.issued_at >= w.f AND r.issued_at < w.t),
  sum(r.pay) FILTER (WHERE r.received_at >= w.f AND r.received_at < w.t),
  sum(r.inv) FILTER (WHERE r.received_at IS NULL AND r.issued_at < w.a) - sum(r.pay) FILTER (WHERE r.received_at < w.a),
  sum(r.inv) FILTER (WHERE r.received_at IS NULL AND r.issued_at < w.a AND r.due_at < w.a)
    - sum(r.pay) FILTER (WHERE r.received_at < w.a AND r.due_at < w.a),
  sum(r.pay) FILTER (WHERE r.issued_at >= w.f AND r.issued_at < w.t AND r.received_at < w.a),
  sum(r.inv) FILTER (WHERE r.received_at IS NULL AND r.issued_at < w.a AND coalesce(r.due_at >= w.a, true))
    - sum(r.pay) FILTER (WHERE r.received_at < w.a AND coalesce(r.due_at >= w.a, true)),
  sum(r.inv) FILTER (WHERE r.received_at IS NULL AND r.issued_at < w.a AND r.due_at < w.a AND r.due_at >= w.a - INTERVAL 30 DAY)
    - sum(r.pay) FILTER (WHERE r.received_at < w.a AND r.due_at < w.a AND r.due_at >= w.a - INTERVAL 30 DAY),
  sum(r.inv) FILTER (WHERE r.received_at IS NULL AND r.issued_at < w.a AND r.due_at < w.a - INTERVAL 30 DAY AND r.due_at >= w.a - INTERVAL 60 DAY)
    - sum(r.pay) FILTER (WHERE r.received_at < w.a AND r.due_at < w.a - INTERVAL 30 DAY AND r.due_at >= w.a - INTERVAL 60 DAY),
  sum(r.inv) FILTER (WHERE r.received_at IS NULL AND r.issued_at < w.a AND r.due_at < w.a - INTERVAL 60 DAY AND r.due_at >= w.a - INTERVAL 90 DAY)
    - sum(r.pay) FILTER (WHERE r.received_at < w.a AND r.due_at < w.a - INTERVAL 60 DAY AND r.due_at >= w.a - INTERVAL 90 DAY),
  sum(r.inv) FILTER (WHERE r.received_at IS NULL AND r.issued_at < w.a AND r.due_at < w.a - INTERVAL 90 DAY)
    - sum(r.pay) FILTER (WHERE r.received_at < w.a AND r.due_at < w.a - INTERVAL 90 DAY)
FROM r JOIN w ON r.at < w.t GROUP BY GROUPING SETS ((w.k), (w.k, r.bu))
