// Package initiative is change initiatives (DESIGN §1 stages 3–4, §5.8): an initiative names
// pilot business units (and optional control units), a baseline window, a start date, a sprint
// length and rollout waves. The package validates definitions (definition.go), stores them
// (store.go), measures pilot vs baseline with a significance test, pilot vs control, a per-sprint
// series and progress toward targets (pilot.go), and the rollout by unit (rollout.go), all through
// the KPI engine's own queries, so the numbers match the dashboards.
package initiative

import (
	"context"

	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// Service stores and measures initiatives over a warehouse and its KPI engine. It holds no
// mutable state of its own.
type Service struct {
	db  *schema.DB
	eng *kpi.Engine
}

// New returns a Service storing initiatives in db and measuring them with eng.
func New(db *schema.DB, eng *kpi.Engine) *Service { return &Service{db: db, eng: eng} }

// rowScope returns the row scope of ctx (the zero RowScope: unrestricted).
func rowScope(ctx context.Context) kpi.RowScope {
	rs, _ := kpi.RowScopeFrom(ctx)
	return rs
}
