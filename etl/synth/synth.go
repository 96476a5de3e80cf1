// Package synth generates a deterministic synthetic lead-to-cash business as source files (CSV,
// JSON Lines, Parquet) plus a matching ltc.yaml, so demos and benchmarks exercise the real ETL path.
//
// The data tells the story of DESIGN §1, as the KPI engine measures it: a two-year history of four
// business units with a baseline year (lead conversion ≈15%, solution design the bottleneck at ≈35%
// of the sales cycle, process adoption ≈45%, gates sometimes missing, failed or late), a pilot in
// business unit "North" starting about ten months before Now in two-week sprints (conversion → ≈25%,
// median sales cycle −25%, adoption → ≈85%, better compliance; significant against the baseline and
// against the control unit "Central", which stays flat), and a rollout wave in "South" about four
// months before Now that lifts its adoption (to about 80% of the pilot's effect).
//
// The median sales cycle is what makes this delicate: complex deals (with solution design) take about
// twice as long as simple ones, so the median of a unit's few dozen signatures per window moves with
// the share of complex deals among them as much as with the process. Rates and that mix are therefore
// drawn against per-unit quotas (gen.quota), each case has one pace for all its steps (which blends
// the two branches' cycle times into one distribution), and a step's speed-up is the unit's effect
// when the step starts, so deals in flight at the pilot start finish at the new pace.
//
// Output is a pure function of (Size, Seed, Now): the same inputs give byte-identical files.
package synth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Options configures a generation run.
type Options struct {
	// Size is small (10 000 leads), medium (100 000) or large (1 000 000).
	Size string
	// Seed seeds the random generator.
	Seed int64
	// Now is the end of the data: leads are created until Now, no event occurs after it.
	// The zero value means the current time (which makes the output depend on the clock).
	Now time.Time
	// Inject lists sustained changes to inject from a date in one business unit (for backtesting
	// alert rules; see Injection). The data before the earliest injection date is unchanged.
	Inject []Injection
	// Binomial draws every rate independently (the binomial noise of real data) instead of against
	// the per-unit quotas that keep a unit's counts within a few of their expectation (see gen.quota).
	// The demo's story needs the quotas; a backtest of alert rules needs realistic noise.
	Binomial bool
}

// Summary describes what Generate wrote.
type Summary struct {
	Leads, Opportunities, Events, Files                                                    int
	Accounts, Employees, Contracts, Deliveries, Invoices, Payments, Assignments, SpendRows int
	// Start is the first day of data; Now the end (UTC, second precision).
	Start, Now time.Time
	// PilotUnit started the new process at PilotStart (a Monday; sprints of 14 days).
	PilotUnit  string
	PilotStart time.Time
	// WaveUnit adopted the new process in a rollout wave at WaveStart (a Monday).
	WaveUnit  string
	WaveStart time.Time
	// Config is the path of the generated ltc.yaml.
	Config string
}

// Sizes in leads.
var sizes = []struct {
	name  string
	leads int
}{{"small", 10_000}, {"medium", 100_000}, {"large", 1_000_000}}

// Cases returns the number of leads (cases) of a size: small 10 000, medium 100 000, large 1 000 000.
func Cases(size string) (int, error) {
	for _, s := range sizes {
		if s.name == size {
			return s.leads, nil
		}
	}
	return 0, fmt.Errorf("synth: unknown size %q (want small, medium or large)", size)
}

// Generate writes the synthetic source files and ltc.yaml into dir (created if needed) and returns
// a summary. Existing files of the same names are overwritten; stale events/events-*.csv files are removed.
func Generate(ctx context.Context, dir string, opts Options) (Summary, error) {
	n, err := Cases(opts.Size)
	if err != nil {
		return Summary{}, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Second)
	if err := os.MkdirAll(filepath.Join(dir, "events"), 0o755); err != nil {
		return Summary{}, fmt.Errorf("synth.Generate: %w", err)
	}
	old, err := filepath.Glob(filepath.Join(dir, "events", "events-*.csv"))
	if err != nil {
		return Summary{}, fmt.Errorf("synth.Generate: %w", err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return Summary{}, fmt.Errorf("synth.Generate: %w", err)
		}
	}
	for _, in := range opts.Inject {
		if err := in.validate(); err != nil {
			return Summary{}, fmt.Errorf("synth.Generate: %w", err)
		}
	}
	g := newGen(dir, n, opts.Seed, now)
	g.inject, g.binomial = opts.Inject, opts.Binomial
	if err := g.run(ctx); err != nil {
		g.closeAll()
		return Summary{}, fmt.Errorf("synth.Generate: %w", err)
	}
	return g.sum, nil
}
