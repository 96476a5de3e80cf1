package initiative

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/ltc-analytics/ltc/schema/kpi"
	"golang.org/x/sync/errgroup"
)

// Rollout roles of a business unit.
const (
	RolePilot   = "pilot"
	RoleWave    = "wave"
	RoleControl = "control"
	RoleNone    = "none"
)

// Rollout statuses of a business unit.
const (
	// StatusPlanned: the unit's date is in the future.
	StatusPlanned = "planned"
	// StatusRampUp: the date has passed but less than one sprint ago (not yet judged).
	StatusRampUp = "ramp_up"
	// StatusOnTrack: adoption since the date is at or above the bar.
	StatusOnTrack = "on_track"
	// StatusBehind: the date passed at least one sprint ago and adoption since is below the bar.
	StatusBehind = "behind"
	// StatusNotPlanned: a control unit or a unit without a wave.
	StatusNotPlanned = "not_planned"
)

// RolloutUnit is one business unit's adoption and compliance before and after its date.
type RolloutUnit struct {
	BusinessUnit string `json:"businessUnit"`
	Role         string `json:"role"`
	// Date is the unit's start: Start for pilot units, the planned wave date for wave units, Start
	// (for comparison) for the others.
	Date   time.Time `json:"date"`
	Status string    `json:"status"`
	// Before is [Date − d, Date), After is [Date, AsOf) with d = AsOf − Date (equal lengths). For a
	// date still in the future, Before is the baseline-length window up to AsOf and After is empty.
	AdoptionBefore   Sample           `json:"adoptionBefore"`
	AdoptionAfter    Sample           `json:"adoptionAfter"`
	AdoptionChange   *float64         `json:"adoptionChange"`
	AdoptionTest     kpi.Significance `json:"adoptionTest"`
	ComplianceBefore Sample           `json:"complianceBefore"`
	ComplianceAfter  Sample           `json:"complianceAfter"`
	ComplianceChange *float64         `json:"complianceChange"`
	// Behind is Status == StatusBehind; Gap is Bar − adoption after (positive when behind).
	Behind bool     `json:"behind"`
	Gap    *float64 `json:"gap"`
}

// Rollout is the rollout of an initiative across business units (DESIGN §1 stage 4).
type Rollout struct {
	InitiativeID string    `json:"initiativeId"`
	AsOf         time.Time `json:"asOf"`
	// Bar is the adoption rate a unit must reach after its date: the initiative's adoption target
	// when it has one (BarSource "target"), else the pilot units' adoption over the pilot window
	// (BarSource "pilot"). Undefined (BarSource "") when neither exists yet.
	Bar       float64 `json:"bar"`
	BarSource string  `json:"barSource"`
	// Units lists every business unit of the data and of the initiative: pilot units first, then
	// waves by date, then controls, then the rest, each group by name.
	Units []RolloutUnit `json:"units"`
}

// Rollout measures adoption and compliance per business unit before and after its date (pilot
// units: the start; wave units: the planned date) — under a row scope, of the units it can see —
// and flags the units behind plan: a pilot or wave
// unit whose date passed at least one sprint ago (a sprint of grace to ramp up) and whose adoption
// rate since the date is below the bar (the adoption target if set, else the pilot units'
// adoption over the pilot window).
func (svc *Service) Rollout(ctx context.Context, in Initiative) (*Rollout, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in = in.normalized()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	r, err := svc.rollout(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("initiative.Rollout(%q): %w", in.ID, err)
	}
	return r, nil
}

func (svc *Service) rollout(ctx context.Context, in Initiative) (*Rollout, error) {
	asOf := svc.eng.Now().UTC()
	out := &Rollout{InitiativeID: in.ID, AsOf: asOf}
	known, err := svc.eng.BusinessUnits(ctx)
	if err != nil {
		return nil, err
	}
	type unit struct {
		name, role string
		date       time.Time
	}
	var units []unit
	seen := map[string]bool{}
	// Under a row scope only the units it can see are listed: its business units, and the units of
	// the rows inside it (known). Others would read as BEHIND, measured over nothing.
	rs := rowScope(ctx)
	visible := func(n string) bool {
		return rs.Unrestricted() || slices.Contains(rs.BusinessUnits, n) || slices.Contains(known, n)
	}
	addAll := func(names []string, role string, date time.Time) {
		sorted := slices.Clone(names)
		sort.Strings(sorted)
		for _, n := range sorted {
			if !seen[n] && visible(n) {
				seen[n] = true
				units = append(units, unit{n, role, date})
			}
		}
	}
	addAll(in.PilotUnits, RolePilot, in.Start)
	for _, w := range in.Waves {
		addAll([]string{w.BusinessUnit}, RoleWave, w.PlannedAt)
	}
	addAll(in.ControlUnits, RoleControl, in.Start)
	addAll(known, RoleNone, in.Start)

	// The bar.
	if t, ok := in.Target(KPIAdoption); ok {
		out.Bar, out.BarSource = t, "target"
	} else if asOf.After(in.Start) {
		p, err := svc.rate(ctx, KPIAdoption, window{in.Start, asOf, in.PilotUnits})
		if err != nil {
			return nil, err
		}
		if p.Defined {
			out.Bar, out.BarSource = p.Value, "pilot"
		}
	}
	baseLen := in.BaselineTo.Sub(in.BaselineFrom)
	out.Units = make([]RolloutUnit, len(units))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, u := range units {
		g.Go(func() error {
			ru := RolloutUnit{BusinessUnit: u.name, Role: u.role, Date: u.date}
			var before, after window
			if u.date.Before(asOf) {
				d := asOf.Sub(u.date)
				before = window{u.date.Add(-d), u.date, []string{u.name}}
				after = window{u.date, asOf, []string{u.name}}
			} else {
				before = window{asOf.Add(-baseLen), asOf, []string{u.name}}
				after = window{asOf, asOf, []string{u.name}}
			}
			var err error
			if ru.AdoptionBefore, err = svc.rate(gctx, KPIAdoption, before); err != nil {
				return err
			}
			if ru.AdoptionAfter, err = svc.rate(gctx, KPIAdoption, after); err != nil {
				return err
			}
			if ru.ComplianceBefore, err = svc.rate(gctx, KPICompliance, before); err != nil {
				return err
			}
			if ru.ComplianceAfter, err = svc.rate(gctx, KPICompliance, after); err != nil {
				return err
			}
			ru.AdoptionChange, _ = changes(ru.AdoptionBefore, ru.AdoptionAfter)
			ru.ComplianceChange, _ = changes(ru.ComplianceBefore, ru.ComplianceAfter)
			ru.AdoptionTest = compare(KPIAdoption, ru.AdoptionAfter, ru.AdoptionBefore)
			switch {
			case u.role != RolePilot && u.role != RoleWave:
				ru.Status = StatusNotPlanned
			case !u.date.Before(asOf):
				ru.Status = StatusPlanned
			case asOf.Sub(u.date) < in.sprint():
				ru.Status = StatusRampUp
			case out.BarSource != "" && (!ru.AdoptionAfter.Defined || !Meets(KPIAdoption.Direction(), ru.AdoptionAfter.Value, out.Bar)):
				ru.Status, ru.Behind = StatusBehind, true
			default:
				ru.Status = StatusOnTrack
			}
			if out.BarSource != "" && ru.AdoptionAfter.Defined && u.role != RoleNone && u.role != RoleControl {
				gap := kpi.Finite(out.Bar - ru.AdoptionAfter.Value)
				ru.Gap = &gap
			}
			out.Units[i] = ru
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
