package graph

import (
	"errors"
	"strings"

	"github.com/ltc-analytics/ltc/graph/model"
	"github.com/ltc-analytics/ltc/initiative"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// Conversions between the API's initiative types and the initiative package's (definitions,
// pilot reports, rollouts) and the engine's (schema/kpi stats.go, capability.go, diagnosis.go).

// SignificanceAlpha is the level below which the API calls a p-value significant.
const SignificanceAlpha = 0.05

// initiativeKPI maps the API's InitiativeKpi enum to the engine's KPI names.
var initiativeKPI = map[model.InitiativeKpi]initiative.KPI{
	model.InitiativeKpiLeadConversion: initiative.KPILeadConversion,
	model.InitiativeKpiWinRate:        initiative.KPIWinRate,
	model.InitiativeKpiSalesCycle:     initiative.KPISalesCycle,
	model.InitiativeKpiAdoption:       initiative.KPIAdoption,
	model.InitiativeKpiCompliance:     initiative.KPICompliance,
}

// initiativeKPIEnum is the inverse of initiativeKPI.
var initiativeKPIEnum = func() map[initiative.KPI]model.InitiativeKpi {
	m := make(map[initiative.KPI]model.InitiativeKpi, len(initiativeKPI))
	for k, v := range initiativeKPI {
		m[v] = k
	}
	return m
}()

// kpiInitiative converts an InitiativeInput into the engine's definition (Source API); the engine
// validates it. An unmapped KPI enum cannot pass gqlgen's validation; it is reported as
// BAD_INITIATIVE all the same.
func kpiInitiative(in model.InitiativeInput) (initiative.Initiative, error) {
	out := initiative.Initiative{ID: in.ID, Name: in.Name, Description: deref(in.Description), PilotUnits: in.PilotUnits,
		ControlUnits: in.ControlUnits, BaselineFrom: in.BaselineFrom, BaselineTo: in.BaselineTo, Start: in.Start,
		SprintDays: initiative.DefaultSprintDays, Source: initiative.SourceAPI, Waves: []initiative.Wave{}, Targets: []initiative.Target{}}
	if in.SprintDays != nil {
		out.SprintDays = *in.SprintDays
	}
	if out.ControlUnits == nil {
		out.ControlUnits = []string{}
	}
	for _, w := range in.Waves {
		out.Waves = append(out.Waves, initiative.Wave{BusinessUnit: w.BusinessUnit, PlannedAt: w.PlannedAt})
	}
	for _, t := range in.Targets {
		k, ok := initiativeKPI[t.Kpi]
		if !ok {
			return out, Errorf(CodeBadInitiative, "target on unknown KPI %q", t.Kpi)
		}
		out.Targets = append(out.Targets, initiative.Target{KPI: k, Value: t.Value})
	}
	return out, nil
}

func apiInitiative(in *initiative.Initiative) *model.Initiative {
	out := &model.Initiative{ID: in.ID, Name: in.Name, Description: in.Description, PilotUnits: nonNil(in.PilotUnits),
		ControlUnits: nonNil(in.ControlUnits), BaselineFrom: in.BaselineFrom, BaselineTo: in.BaselineTo, Start: in.Start,
		SprintDays: in.SprintDays, Waves: make([]*model.RolloutWave, len(in.Waves)), Targets: make([]*model.KpiTarget, 0, len(in.Targets)),
		Source: model.InitiativeSourceAPI, UpdatedAt: in.UpdatedAt}
	if in.Source == initiative.SourceConfig {
		out.Source = model.InitiativeSourceConfig
	}
	for i, w := range in.Waves {
		out.Waves[i] = &model.RolloutWave{BusinessUnit: w.BusinessUnit, PlannedAt: w.PlannedAt}
	}
	for _, t := range in.Targets {
		if k, ok := initiativeKPIEnum[t.KPI]; ok {
			out.Targets = append(out.Targets, &model.KpiTarget{Kpi: k, Value: t.Value})
		}
	}
	return out
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func sample(s initiative.Sample) *model.KpiSample {
	return &model.KpiSample{From: s.From, To: s.To, Units: nonNil(s.Units), Value: s.Value, N: int(s.N), Successes: int(s.Successes)}
}

func optSample(s *initiative.Sample) *model.KpiSample {
	if s == nil {
		return nil
	}
	return sample(*s)
}

func significance(s kpi.Significance) *model.SignificanceTest {
	out := &model.SignificanceTest{Test: model.StatTestTwoProportionZ, Z: s.Z, U: s.U, P: s.P, Significant: s.Significant(SignificanceAlpha)}
	if s.Test == kpi.TestMannWhitneyU {
		out.Test = model.StatTestMannWhitneyU
	}
	return out
}

func optSignificance(s *kpi.Significance) *model.SignificanceTest {
	if s == nil {
		return nil
	}
	return significance(*s)
}

func pilotReport(r *initiative.PilotReport) *model.PilotReport {
	out := &model.PilotReport{InitiativeID: r.InitiativeID, Kpi: initiativeKPIEnum[r.KPI], Unit: model.KpiUnitRatio,
		HigherIsBetter: r.KPI.Direction() == kpi.HigherIsBetter, AsOf: r.AsOf, Baseline: sample(r.Baseline), Pilot: sample(r.Pilot),
		Change: r.Change, RelChange: r.RelChange, Significance: significance(r.Significance), Control: optSample(r.Control),
		ControlChange: r.ControlChange, VsControl: optSignificance(r.VsControl), Sprints: make([]*model.SprintPoint, len(r.Sprints))}
	if !r.KPI.IsRate() {
		out.Unit = model.KpiUnitDays
	}
	for i, s := range r.Sprints {
		out.Sprints[i] = &model.SprintPoint{Sprint: s.Sprint, From: s.From, To: s.To, Complete: s.Complete, Pilot: sample(s.Pilot),
			Baseline: s.Baseline, Change: s.Change, Significance: significance(s.Significance), Control: optSample(s.Control)}
	}
	if t := r.Target; t != nil {
		out.Target = &model.TargetProgress{Target: t.Target, Progress: t.Progress, LatestProgress: t.LatestProgress, Reached: t.Reached,
			WrongSide: t.WrongSide, Problem: nonEmpty(t.Problem)}
	}
	return out
}

var rolloutRole = map[string]model.RolloutRole{
	initiative.RolePilot: model.RolloutRolePilot, initiative.RoleWave: model.RolloutRoleWave,
	initiative.RoleControl: model.RolloutRoleControl, initiative.RoleNone: model.RolloutRoleNone,
}

var rolloutStatus = map[string]model.RolloutStatus{
	initiative.StatusPlanned: model.RolloutStatusPlanned, initiative.StatusRampUp: model.RolloutStatusRAMPUp,
	initiative.StatusOnTrack: model.RolloutStatusOnTrack, initiative.StatusBehind: model.RolloutStatusBehind,
	initiative.StatusNotPlanned: model.RolloutStatusNotPlanned,
}

func rollout(r *initiative.Rollout) *model.Rollout {
	out := &model.Rollout{InitiativeID: r.InitiativeID, AsOf: r.AsOf, Units: make([]*model.RolloutUnit, len(r.Units))}
	if r.BarSource != "" {
		bar := r.Bar
		src := model.RolloutBarSource(strings.ToUpper(r.BarSource))
		out.Bar, out.BarSource = &bar, &src
	}
	for i, u := range r.Units {
		if u.Behind {
			out.Behind++
		}
		role, ok := rolloutRole[u.Role]
		if !ok {
			role = model.RolloutRoleNone
		}
		status, ok := rolloutStatus[u.Status]
		if !ok {
			status = model.RolloutStatusNotPlanned
		}
		out.Units[i] = &model.RolloutUnit{BusinessUnit: u.BusinessUnit, Role: role, Date: u.Date, Status: status,
			Behind: u.Behind, Gap: u.Gap, AdoptionBefore: sample(u.AdoptionBefore), AdoptionAfter: sample(u.AdoptionAfter),
			AdoptionChange: u.AdoptionChange, AdoptionTest: significance(u.AdoptionTest),
			ComplianceBefore: sample(u.ComplianceBefore), ComplianceAfter: sample(u.ComplianceAfter),
			ComplianceChange: u.ComplianceChange}
	}
	return out
}

func ramp(r *kpi.Ramp) *model.Ramp {
	out := &model.Ramp{HiredFrom: r.HiredFrom, HiredTo: r.HiredTo, AsOf: r.AsOf, TenuredMedian: r.TenuredMedian,
		TenuredSellers: int(r.TenuredSellers), Threshold: r.Threshold, Hires: make([]*model.RampHire, len(r.Hires)),
		Ramped: int(r.Ramped), MedianMonthsToRamp: r.MedianMonthsToRamp}
	for i, h := range r.Hires {
		monthly := h.Monthly
		if monthly == nil {
			monthly = []float64{}
		}
		out.Hires[i] = &model.RampHire{EmployeeID: h.EmployeeID, Name: h.Name, BusinessUnit: h.BusinessUnit,
			HiredAt: h.HiredAt, Monthly: monthly, MonthsToRamp: h.MonthsToRamp}
	}
	return out
}

func unitCertification(u kpi.UnitCertification) *model.UnitCertification {
	return &model.UnitCertification{BusinessUnit: u.BusinessUnit, Employees: int(u.Employees), Certified: int(u.Certified), Share: u.Share}
}

func certification(c *kpi.Certification) *model.Certification {
	out := &model.Certification{AsOf: c.AsOf, Total: unitCertification(c.Total), Units: make([]*model.UnitCertification, len(c.Units))}
	for i, u := range c.Units {
		out.Units[i] = unitCertification(u)
	}
	return out
}

func diagnosis(e *kpi.Engine, d *kpi.Diagnosis) *model.Diagnosis {
	out := &model.Diagnosis{From: d.Scope.From, To: d.Scope.To, ValueStream: valueStream(&d.ValueStream),
		Bottleneck: nonEmpty(d.Bottleneck), BottleneckShare: d.BottleneckShare, LeadConversion: kpiValue(d.LeadConversion),
		WinRate: kpiValue(d.WinRate), Cycles: cycleTimes(e)(&d.Cycles), Adoption: adoption(e)(&d.Adoption),
		Compliance: compliance(&d.Compliance), WonValue: kpiValue(d.WonValue),
		StageOpportunities: make([]*model.StageOpportunity, len(d.StageOpportunities)),
		GateOpportunities:  make([]*model.GateOpportunity, len(d.GateOpportunities)), Report: d.Text()}
	c := d.Cost
	out.Cost = &model.MarketingCost{Spend: c.Spend, Leads: int(c.Leads), WonDeals: int(c.WonDeals), PerLead: c.PerLead,
		PerWonDeal: c.PerWonDeal, Unfiltered: []model.Dimension{}, UnfilteredNames: nonNil(c.Unfiltered), Withheld: []model.Dimension{}}
	for _, dim := range c.Unfiltered {
		if e, ok := dimensionEnum[dim]; ok {
			out.Cost.Unfiltered = append(out.Cost.Unfiltered, e)
		}
	}
	for _, dim := range c.Withheld {
		if e, ok := dimensionEnum[dim]; ok {
			out.Cost.Withheld = append(out.Cost.Withheld, e)
		}
	}
	for i, o := range d.StageOpportunities {
		out.StageOpportunities[i] = &model.StageOpportunity{Rank: o.Rank, Stage: o.Stage, Score: o.Score, Share: o.Share,
			Cases: int(o.Cases), MedianDays: o.MedianDays, P90Days: o.P90Days, Rework: o.Rework}
	}
	for i, o := range d.GateOpportunities {
		out.GateOpportunities[i] = &model.GateOpportunity{Rank: o.Rank, Gate: o.Gate, Guards: o.Guards, Violations: int(o.Violations),
			Entered: int(o.Entered), Missing: int(o.Missing), Failed: int(o.Failed), Late: int(o.Late), Rate: o.Rate}
	}
	return out
}

// isNotFound reports whether err says an initiative does not exist.
func isNotFound(err error) bool { return errors.Is(err, initiative.ErrInitiativeNotFound) }

// writable fails READ_ONLY on a read-only warehouse (a replica serving a snapshot).
func (r *Resolver) writable() error {
	if r.db != nil && r.db.ReadOnly() {
		return Errorf(CodeReadOnly, "this server's warehouse is read-only (a replica): change initiatives on the primary")
	}
	return nil
}

// initiatives returns the initiative service, or an INTERNAL error when none is configured.
func (r *Resolver) initiatives() (*initiative.Service, error) {
	if r.inits == nil {
		return nil, errors.New("graph: no initiative service configured (Deps.Initiatives, or Deps.DB and Deps.KPI)")
	}
	return r.inits, nil
}
