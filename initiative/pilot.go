package initiative

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ltc-analytics/ltc/schema/kpi"
	"golang.org/x/sync/errgroup"
)

// Sample is a KPI measured over some business units in a window [From, To).
type Sample struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Units []string  `json:"units"`
	// Value is the rate (Successes / N) or the median sales cycle in days; 0 when undefined.
	Value float64 `json:"value"`
	// N counts what the value is over: leads, closed deals, cases or signed contracts.
	N int64 `json:"n"`
	// Successes is the numerator of a rate (0 for durations).
	Successes int64 `json:"successes"`
	// Defined is false when N is 0.
	Defined bool `json:"defined"`

	durations []float64 // per-case days (sales cycle)
}

// SprintPoint is one sprint of an initiative, with the pilot units' value against the baseline.
type SprintPoint struct {
	// Sprint is 1-based; the sprint covers [From, To), To capped at the report's AsOf.
	Sprint int       `json:"sprint"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Complete is false for the running sprint.
	Complete bool   `json:"complete"`
	Pilot    Sample `json:"pilot"`
	// Baseline is the reference line: the pilot units' value over the baseline window.
	Baseline float64 `json:"baseline"`
	// Change is Pilot − Baseline (nil when a side is undefined).
	Change *float64 `json:"change"`
	// Significance tests the sprint against the baseline.
	Significance kpi.Significance `json:"significance"`
	// Control is the control units' value in the sprint (nil without controls).
	Control *Sample `json:"control,omitempty"`
}

// TargetProgress is how far a KPI has moved from the baseline toward its target:
// (value − baseline) / (target − baseline); 1 means reached, negative means moving away.
type TargetProgress struct {
	Target float64 `json:"target"`
	// Progress uses the pilot value over the whole pilot window; LatestProgress the last complete
	// sprint. Nil when undefined (no data, or target equal to the baseline).
	Progress       *float64 `json:"progress"`
	LatestProgress *float64 `json:"latestProgress"`
	// Reached reports whether the last complete sprint meets the target in the KPI's good
	// direction (Meets).
	Reached bool `json:"reached"`
	// WrongSide says the target lies on the wrong side of the baseline for the KPI's direction
	// (e.g. a sales-cycle target above the baseline): progress is then undefined, and Problem says
	// why.
	WrongSide bool   `json:"wrongSide"`
	Problem   string `json:"problem,omitempty"`
}

// PilotReport compares an initiative's pilot with its baseline (and controls) on one KPI.
type PilotReport struct {
	InitiativeID string `json:"initiativeId"`
	KPI          KPI    `json:"kpi"`
	// Statistic says what Value means: "rate" or "median_days".
	Statistic string `json:"statistic"`
	// AsOf is the end of the pilot window (the engine's Now).
	AsOf time.Time `json:"asOf"`
	// Baseline is the pilot units over the baseline window, Pilot the same units over [Start, AsOf).
	Baseline Sample `json:"baseline"`
	Pilot    Sample `json:"pilot"`
	// Change is Pilot − Baseline, RelChange Change / |Baseline| (nil when undefined).
	Change    *float64 `json:"change"`
	RelChange *float64 `json:"relChange"`
	// Significance tests pilot vs baseline (z-test for rates, Mann–Whitney U for the sales cycle).
	Significance kpi.Significance `json:"significance"`
	// Control is the control units over [Start, AsOf); VsControl tests pilot vs control in that
	// window; ControlChange is Pilot − Control. Nil without control units.
	Control       *Sample           `json:"control,omitempty"`
	ControlChange *float64          `json:"controlChange,omitempty"`
	VsControl     *kpi.Significance `json:"vsControl,omitempty"`
	// Sprints is the per-sprint series from Start to AsOf.
	Sprints []SprintPoint `json:"sprints"`
	// Target is progress toward the initiative's target on this KPI (nil without a target).
	Target *TargetProgress `json:"target,omitempty"`
}

// PilotVsBaseline measures initiative in on one KPI: the pilot units' baseline (over the baseline
// window) against their pilot value (over [Start, AsOf), AsOf = the engine's Now), with absolute
// and relative change, n per side and a two-sided p-value; the same against the control units
// over the pilot window when there are controls; the per-sprint series; and progress toward the
// target. Rates come from the engine's own KPI queries (LeadConversion, WinRate, Adoption,
// Compliance) over scopes filtered by business unit, so the numbers match the dashboards; the
// sales cycle uses per-case durations (first won − case start, cases placed in time by the win,
// as CycleTimes). The definition is validated but not looked up, so a
// draft can be previewed before it is stored.
func (svc *Service) PilotVsBaseline(ctx context.Context, in Initiative, k KPI) (*PilotReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in = in.normalized()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if !k.Valid() {
		return nil, fmt.Errorf("%w: unknown KPI %q (want one of %s)", kpi.ErrBadScope, k, kpiList())
	}
	r, err := svc.pilotVsBaseline(ctx, in, k)
	if err != nil {
		return nil, fmt.Errorf("initiative.PilotVsBaseline(%q, %s): %w", in.ID, k, err)
	}
	return r, nil
}

// PilotReports returns PilotVsBaseline for every KPI of KPIs, in that order.
func (svc *Service) PilotReports(ctx context.Context, in Initiative) ([]*PilotReport, error) {
	ks := KPIs()
	out := make([]*PilotReport, len(ks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	for i, k := range ks {
		g.Go(func() error {
			r, err := svc.PilotVsBaseline(gctx, in, k)
			out[i] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// window is a half-open time range over some units.
type window struct {
	from, to time.Time
	units    []string
}

func (svc *Service) pilotVsBaseline(ctx context.Context, in Initiative, k KPI) (*PilotReport, error) {
	asOf := svc.eng.Now().UTC()
	r := &PilotReport{InitiativeID: in.ID, KPI: k, AsOf: asOf, Statistic: "rate", Sprints: []SprintPoint{}}
	if !k.IsRate() {
		r.Statistic = "median_days"
	}
	pilotTo := asOf
	if pilotTo.Before(in.Start) {
		pilotTo = in.Start
	}
	// The windows to measure: baseline, pilot, control, then per sprint pilot (and control).
	ws := []window{{in.BaselineFrom, in.BaselineTo, in.PilotUnits}, {in.Start, pilotTo, in.PilotUnits}}
	hasControl := len(in.ControlUnits) > 0
	if hasControl {
		ws = append(ws, window{in.Start, pilotTo, in.ControlUnits})
	}
	sprints := sprintWindows(in, asOf)
	if len(sprints) > maxSprints {
		return nil, fmt.Errorf("%w: more than %d sprints", kpi.ErrBadScope, maxSprints)
	}
	fixed := len(ws)
	for _, s := range sprints {
		ws = append(ws, window{s[0], s[1], in.PilotUnits})
		if hasControl {
			ws = append(ws, window{s[0], s[1], in.ControlUnits})
		}
	}
	samples, err := svc.measure(ctx, in, k, ws)
	if err != nil {
		return nil, err
	}
	r.Baseline, r.Pilot = samples[0], samples[1]
	r.Change, r.RelChange = changes(r.Baseline, r.Pilot)
	r.Significance = compare(k, r.Pilot, r.Baseline)
	if hasControl {
		c := samples[2]
		r.Control = &c
		r.ControlChange, _ = changes(c, r.Pilot)
		s := compare(k, r.Pilot, c)
		r.VsControl = &s
	}
	step := 1
	if hasControl {
		step = 2
	}
	for i, s := range sprints {
		p := samples[fixed+i*step]
		pt := SprintPoint{Sprint: i + 1, From: s[0], To: s[1], Complete: !s[1].After(asOf) && s[1].Sub(s[0]) == in.sprint(),
			Pilot: p, Baseline: r.Baseline.Value, Significance: compare(k, p, r.Baseline)}
		pt.Change, _ = changes(r.Baseline, p)
		if hasControl {
			c := samples[fixed+i*step+1]
			pt.Control = &c
		}
		r.Sprints = append(r.Sprints, pt)
	}
	if t, ok := in.Target(k); ok {
		d := k.Direction()
		tp := &TargetProgress{Target: t}
		if r.Baseline.Defined && t != r.Baseline.Value && Meets(d, r.Baseline.Value, t) {
			// A target the baseline already beats: moving the wrong way would read as progress.
			tp.WrongSide = true
			tp.Problem = fmt.Sprintf("the target %.4g is on the wrong side of the baseline %.4g: %s is better when %s", t, r.Baseline.Value, k, d)
		} else {
			tp.Progress = progress(r.Baseline, r.Pilot, t)
		}
		for i := len(r.Sprints) - 1; i >= 0; i-- {
			if s := r.Sprints[i]; s.Complete && s.Pilot.Defined {
				if !tp.WrongSide {
					tp.LatestProgress = progress(r.Baseline, s.Pilot, t)
				}
				tp.Reached = !tp.WrongSide && Meets(d, s.Pilot.Value, t)
				break
			}
		}
		r.Target = tp
	}
	return r, nil
}

// measure returns the KPI over each window, concurrently (rates through the engine's cached KPI
// queries; the sales cycle from one query of per-case durations split in Go).
func (svc *Service) measure(ctx context.Context, in Initiative, k KPI, ws []window) ([]Sample, error) {
	out := make([]Sample, len(ws))
	if k == KPISalesCycle {
		from, to := ws[0].from, ws[0].to
		for _, w := range ws {
			if w.from.Before(from) {
				from = w.from
			}
			if w.to.After(to) {
				to = w.to
			}
		}
		units := slices.Concat(in.PilotUnits, in.ControlUnits)
		cases, err := svc.eng.SalesCycles(ctx, units, from, to)
		if err != nil {
			return nil, err
		}
		for i, w := range ws {
			s := Sample{From: w.from, To: w.to, Units: w.units}
			for _, c := range cases {
				if !c.WonAt.Before(w.from) && c.WonAt.Before(w.to) && slices.Contains(w.units, c.BusinessUnit) {
					s.durations = append(s.durations, c.Days)
				}
			}
			s.N = int64(len(s.durations))
			s.Defined = s.N > 0
			s.Value = kpi.Finite(kpi.Median(slices.Clone(s.durations)))
			out[i] = s
		}
		return out, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, w := range ws {
		g.Go(func() error {
			s, err := svc.rate(gctx, k, w)
			out[i] = s
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// rate measures a rate KPI over one window through the engine's KPI queries.
func (svc *Service) rate(ctx context.Context, k KPI, w window) (Sample, error) {
	s := Sample{From: w.from, To: w.to, Units: w.units}
	if !w.from.Before(w.to) {
		return s, nil
	}
	scope := kpi.Scope{From: w.from, To: w.to, Filters: map[string][]string{"business_unit": w.units}}
	var v kpi.Value
	switch k {
	case KPILeadConversion:
		bd, err := svc.eng.LeadConversion(ctx, scope)
		if err != nil {
			return s, err
		}
		v = bd.Total
	case KPIWinRate:
		bd, err := svc.eng.WinRate(ctx, scope)
		if err != nil {
			return s, err
		}
		v = bd.Total
	case KPIAdoption:
		bd, err := svc.eng.Adoption(ctx, scope)
		if err != nil {
			return s, err
		}
		v = bd.Total.Rate
	case KPICompliance:
		bd, err := svc.eng.Compliance(ctx, scope)
		if err != nil {
			return s, err
		}
		v = bd.Total.Rate
	default:
		return s, fmt.Errorf("%w: %s is not a rate", kpi.ErrBadScope, k)
	}
	s.N = v.N
	s.Defined = v.N > 0
	if s.Defined {
		s.Successes = int64(math.Round(v.Value * float64(v.N)))
		s.Value = float64(s.Successes) / float64(s.N)
	}
	return s, nil
}

// compare tests sample a against b with the KPI's test.
func compare(k KPI, a, b Sample) kpi.Significance {
	if k.IsRate() {
		return kpi.TwoProportionZ(a.Successes, a.N, b.Successes, b.N)
	}
	return kpi.MannWhitneyU(a.durations, b.durations)
}

// changes returns cur − base and (cur − base) / |base|, nil when undefined.
func changes(base, cur Sample) (abs, rel *float64) {
	if !base.Defined || !cur.Defined {
		return nil, nil
	}
	c := kpi.Finite(cur.Value - base.Value)
	abs = &c
	if base.Value != 0 {
		r := kpi.Finite(c / math.Abs(base.Value))
		rel = &r
	}
	return abs, rel
}

// progress is (cur − base) / (target − base), nil when undefined.
func progress(base, cur Sample, target float64) *float64 {
	if !base.Defined || !cur.Defined || target == base.Value {
		return nil
	}
	p := kpi.Finite((cur.Value - base.Value) / (target - base.Value))
	return &p
}
