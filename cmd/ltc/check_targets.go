package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/initiative"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// checkTargets checks each initiative target of the config against its baseline in the warehouse
// (DESIGN §5: a target on the wrong side of the baseline for its KPI's direction is a config
// error). Without a warehouse yet, or when it cannot be opened (another process holds it), it says
// so and checks nothing.
func checkTargets(ctx context.Context, cfg *config.Config, m *schema.Model, stdout io.Writer) error {
	var withTargets []initiative.Initiative
	for _, s := range cfg.Initiatives {
		in, err := s.Initiative()
		if err != nil {
			return fmt.Errorf("check targets: %w", err)
		}
		if len(in.Targets) > 0 {
			withTargets = append(withTargets, in)
		}
	}
	if len(withTargets) == 0 {
		return nil
	}
	path := cfg.Resolve(cfg.Database.Path)
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(stdout, "note: no warehouse at %s yet: initiative targets are checked against their baselines once data is loaded\n", path)
		return nil
	}
	db, err := schema.Open(ctx, path, schema.Options{ReadOnly: true, Threads: 1})
	if err != nil {
		fmt.Fprintf(stdout, "warning: initiative targets not checked against their baselines: %v\n", err)
		return nil
	}
	defer db.Close()
	svc := initiative.New(db, kpi.New(db, m, kpiOptions(cfg)))
	var problems []error
	for _, in := range withTargets {
		reports, err := svc.PilotReports(ctx, in)
		if err != nil {
			return fmt.Errorf("check targets of initiative %q: %w", in.ID, err)
		}
		for _, r := range reports {
			if r.Target != nil && r.Target.WrongSide {
				problems = append(problems, fmt.Errorf("initiative %q, target %s: %s", in.ID, r.KPI, r.Target.Problem))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d initiative targets on the wrong side of their baseline:\n%w", len(problems), errors.Join(problems...))
	}
	return nil
}
