package kpi

import (
	"context"
	"fmt"
)

// BusinessUnits returns the business units that occur in the data (leads, opportunities,
// employees, marketing spend), sorted; under a row scope (RowScope), those of the rows inside it
// (marketing spend, which has no region, only when regions are unrestricted).
func (e *Engine) BusinessUnits(ctx context.Context) ([]string, error) {
	r, rargs := rowScopeOf(ctx).sql("u", "r")
	rows, err := e.db.Read.QueryContext(ctx, `SELECT DISTINCT u FROM (
  SELECT business_unit AS u, region AS r FROM leads UNION ALL SELECT business_unit, region FROM opportunities
  UNION ALL SELECT business_unit, region FROM employees UNION ALL SELECT business_unit, NULL FROM marketing_spend)
WHERE u IS NOT NULL AND u <> ''`+r+` ORDER BY u`, rargs...)
	if err != nil {
		return nil, fmt.Errorf("kpi.BusinessUnits: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("kpi.BusinessUnits: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kpi.BusinessUnits: %w", err)
	}
	return out, nil
}
