package etl

import (
	"context"
	"database/sql"
	"fmt"
)

// deriveSQL derives the event log from entity timestamps (DESIGN §3) for sources without one.
// The case is the opportunity once a lead converted, else the lead. Activities are the names of
// the ltc-standard model; the process model maps them to stages like any source activity.
const deriveSQL = `
INSERT INTO stage_events (case_id, stage, activity, occurred_at, actor_id, actor_role, outcome, template_used, source, seq, _file)
WITH derived AS (
    SELECT coalesce(opportunity_id, lead_id) AS case_id, 'Lead Created' AS activity, created_at AS at, owner_id AS actor, 1 AS ord FROM leads
    UNION ALL SELECT coalesce(opportunity_id, lead_id), 'Lead Qualified', qualified_at, owner_id, 2 FROM leads WHERE qualified_at IS NOT NULL
    UNION ALL SELECT opportunity_id, 'Opportunity Created', created_at, owner_id, 3 FROM opportunities WHERE created_at IS NOT NULL
    UNION ALL SELECT opportunity_id, CASE status WHEN 'won' THEN 'Opportunity Won' ELSE 'Opportunity Lost' END, closed_at, owner_id, 4
        FROM opportunities WHERE closed_at IS NOT NULL AND status IN ('won', 'lost')
    UNION ALL SELECT opportunity_id, 'Contract Signed', signed_at, NULL, 5 FROM contracts
    UNION ALL SELECT c.opportunity_id, 'Delivery Started', d.started_at, NULL, 6 FROM deliveries d JOIN contracts c USING (contract_id) WHERE d.started_at IS NOT NULL
    UNION ALL SELECT c.opportunity_id, 'Delivery Accepted', d.accepted_at, NULL, 7 FROM deliveries d JOIN contracts c USING (contract_id) WHERE d.accepted_at IS NOT NULL
    UNION ALL SELECT c.opportunity_id, 'Invoice Issued', i.issued_at, NULL, 8 FROM invoices i JOIN contracts c USING (contract_id)
    UNION ALL SELECT c.opportunity_id, 'Payment Received', p.received_at, NULL, 9 FROM payments p JOIN invoices i USING (invoice_id) JOIN contracts c USING (contract_id)
)
SELECT d.case_id, m.stage, d.activity, d.at, d.actor, NULL, NULL, NULL, 'derived', d.ord, 'derived'
FROM derived d LEFT JOIN activity_map m ON m.activity = d.activity
WHERE d.case_id IS NOT NULL AND d.at IS NOT NULL`

// deriveEvents replaces the derived events with ones rebuilt from the current entity tables.
func deriveEvents(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM stage_events WHERE source = 'derived'"); err != nil {
		return fmt.Errorf("derive events: %w", err)
	}
	if _, err := tx.ExecContext(ctx, deriveSQL); err != nil {
		return fmt.Errorf("derive events: %w", err)
	}
	return nil
}
