package kpi

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"
)

// Capability (DESIGN §1 stage 4: training, certification): how fast new sellers ramp up and how
// much of each business unit is certified in the new process.

// Ramp definitions.
const (
	// TenuredMonths: a seller is tenured from this many months after their hire date.
	TenuredMonths = 12
	// RampShare: a new hire has ramped up when their won value per month reaches this share of the
	// tenured median.
	RampShare = 0.8
	// RampSmoothing: a new hire's won value per month is the mean over this many trailing tenure
	// months (deals are lumpy: most seller-months win nothing).
	RampSmoothing = 3
)

// RampHire is one new hire's ramp.
type RampHire struct {
	EmployeeID   string    `json:"employeeId"`
	Name         string    `json:"name"`
	BusinessUnit string    `json:"businessUnit"`
	HiredAt      time.Time `json:"hiredAt"`
	// Monthly is the won value of each complete tenure month k = 1, 2, … (month k is
	// [HiredAt + (k−1) months, HiredAt + k months)), up to AsOf.
	Monthly []float64 `json:"monthly"`
	// MonthsToRamp is the first k whose trailing mean (months max(1, k−2)..k) reaches the
	// threshold; nil when not (yet) reached in the months observed.
	MonthsToRamp *int `json:"monthsToRamp"`
}

// Ramp is the new-hire ramp of the sellers hired in [HiredFrom, HiredTo).
type Ramp struct {
	HiredFrom time.Time `json:"hiredFrom"`
	HiredTo   time.Time `json:"hiredTo"`
	AsOf      time.Time `json:"asOf"`
	// TenuredMedian is the median, over tenured sellers, of their mean won value per calendar
	// month over the complete months of [HiredFrom, AsOf) in which they were tenured;
	// TenuredSellers counts them. Threshold is RampShare × TenuredMedian.
	TenuredMedian  float64    `json:"tenuredMedian"`
	TenuredSellers int64      `json:"tenuredSellers"`
	Threshold      float64    `json:"threshold"`
	Hires          []RampHire `json:"hires"`
	// Ramped counts the hires that reached the threshold; MedianMonthsToRamp is the median of their
	// MonthsToRamp (nil when none did). Hires not yet ramped are censored, not counted as failures.
	Ramped             int64    `json:"ramped"`
	MedianMonthsToRamp *float64 `json:"medianMonthsToRamp"`
}

// sellerSQL selects the sellers: employees with role 'sales' or owning an opportunity.
const sellerSQL = `SELECT e.employee_id, coalesce(e.name, ''), coalesce(e.business_unit, ''), e.hired_at FROM employees e
WHERE e.hired_at IS NOT NULL AND (e.role = 'sales' OR e.employee_id IN (SELECT owner_id FROM opportunities WHERE owner_id IS NOT NULL))`

// Ramp returns the ramp of the sellers (employees with role "sales" or owning an opportunity)
// hired in [hiredFrom, hiredTo), optionally only in some business units: for each, the months until
// their won value per month (opportunities they own, won, by closed_at, amounts as stored; the
// trailing mean of RampSmoothing months) reaches RampShare of the tenured median (sellers hired at
// least TenuredMonths months before the month; the median of their mean monthly won value), as of
// the engine's Now. Under a row scope (RowScope), only the sellers and the opportunities inside it
// count.
func (e *Engine) Ramp(ctx context.Context, hiredFrom, hiredTo time.Time, businessUnits []string) (*Ramp, error) {
	if err := (Scope{From: hiredFrom, To: hiredTo}).Validate(); err != nil {
		return nil, err
	}
	r, err := e.ramp(ctx, hiredFrom.UTC(), hiredTo.UTC(), businessUnits)
	if err != nil {
		return nil, fmt.Errorf("kpi.Ramp: %w", err)
	}
	return r, nil
}

type seller struct {
	id, name, bu string
	hired        time.Time
}

func (e *Engine) ramp(ctx context.Context, from, to time.Time, units []string) (*Ramp, error) {
	asOf := e.opts.Now().UTC()
	out := &Ramp{HiredFrom: from, HiredTo: to, AsOf: asOf, Hires: []RampHire{}}
	rs := rowScopeOf(ctx)
	er, eargs := rs.sql("e.business_unit", "e.region")
	rows, err := e.db.Read.QueryContext(ctx, sellerSQL+er, eargs...)
	if err != nil {
		return nil, err
	}
	var sellers []seller
	for rows.Next() {
		var s seller
		if err := rows.Scan(&s.id, &s.name, &s.bu, &s.hired); err != nil {
			rows.Close()
			return nil, err
		}
		s.hired = s.hired.UTC()
		if len(units) == 0 || containsStr(units, s.bu) {
			sellers = append(sellers, s)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Won deals per seller, from the first calendar month of the window to AsOf.
	first := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
	type deal struct {
		at     time.Time
		amount float64
	}
	won := map[string][]deal{}
	dr, dargs := rs.sql("business_unit", "region")
	drows, err := e.db.Read.QueryContext(ctx, `SELECT owner_id, closed_at, coalesce(CAST(amount AS DOUBLE), 0) FROM opportunities
WHERE status = 'won' AND owner_id IS NOT NULL AND closed_at >= CAST(? AS TIMESTAMP) AND closed_at < CAST(? AS TIMESTAMP)`+dr,
		append([]any{ts(first.AddDate(0, -TenuredMonths, 0)), ts(asOf)}, dargs...)...)
	if err != nil {
		return nil, err
	}
	for drows.Next() {
		var id string
		var d deal
		if err := drows.Scan(&id, &d.at, &d.amount); err != nil {
			drows.Close()
			return nil, err
		}
		d.at = d.at.UTC()
		won[id] = append(won[id], d)
	}
	drows.Close()
	if err := drows.Err(); err != nil {
		return nil, err
	}
	sum := func(id string, a, b time.Time) float64 {
		var s float64
		for _, d := range won[id] {
			if !d.at.Before(a) && d.at.Before(b) {
				s += d.amount
			}
		}
		return s
	}
	// Tenured median: per tenured seller, the mean won value over the complete calendar months of
	// [first, AsOf) in which they were tenured at the month's start.
	var means []float64
	for _, s := range sellers {
		tenured := s.hired.AddDate(0, TenuredMonths, 0)
		var total float64
		var months int
		for m := first; !m.AddDate(0, 1, 0).After(asOf); m = m.AddDate(0, 1, 0) {
			if m.Before(tenured) {
				continue
			}
			total += sum(s.id, m, m.AddDate(0, 1, 0))
			months++
		}
		if months > 0 {
			means = append(means, total/float64(months))
		}
	}
	out.TenuredSellers = int64(len(means))
	out.TenuredMedian = Finite(Median(means))
	out.Threshold = RampShare * out.TenuredMedian
	// New hires.
	var toRamp []float64
	for _, s := range sellers {
		if s.hired.Before(from) || !s.hired.Before(to) {
			continue
		}
		h := RampHire{EmployeeID: s.id, Name: s.name, BusinessUnit: s.bu, HiredAt: s.hired, Monthly: []float64{}}
		for k := 1; !s.hired.AddDate(0, k, 0).After(asOf); k++ {
			h.Monthly = append(h.Monthly, sum(s.id, s.hired.AddDate(0, k-1, 0), s.hired.AddDate(0, k, 0)))
			if h.MonthsToRamp == nil && out.TenuredMedian > 0 && trailingMean(h.Monthly, RampSmoothing) >= out.Threshold {
				kk := k
				h.MonthsToRamp = &kk
			}
		}
		if h.MonthsToRamp != nil {
			out.Ramped++
			toRamp = append(toRamp, float64(*h.MonthsToRamp))
		}
		out.Hires = append(out.Hires, h)
	}
	sort.Slice(out.Hires, func(i, j int) bool {
		if !out.Hires[i].HiredAt.Equal(out.Hires[j].HiredAt) {
			return out.Hires[i].HiredAt.Before(out.Hires[j].HiredAt)
		}
		return out.Hires[i].EmployeeID < out.Hires[j].EmployeeID
	})
	if len(toRamp) > 0 {
		m := Median(toRamp)
		out.MedianMonthsToRamp = &m
	}
	return out, nil
}

// trailingMean is the mean of the last n values of xs (fewer when xs is shorter).
func trailingMean(xs []float64, n int) float64 {
	if len(xs) < n {
		n = len(xs)
	}
	if n == 0 {
		return 0
	}
	var s float64
	for _, x := range xs[len(xs)-n:] {
		s += x
	}
	return s / float64(n)
}

func containsStr(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// UnitCertification is the certification share of one business unit ("" for employees without one).
type UnitCertification struct {
	BusinessUnit string `json:"businessUnit"`
	// Employees counts those hired by AsOf (or without a hire date); Certified those of them with
	// certified_at at or before AsOf. Share is Certified / Employees.
	Employees int64   `json:"employees"`
	Certified int64   `json:"certified"`
	Share     float64 `json:"share"`
}

// Certification is the share of employees certified in the new process, per business unit.
type Certification struct {
	AsOf  time.Time           `json:"asOf"`
	Total UnitCertification   `json:"total"`
	Units []UnitCertification `json:"units"`
}

// Certification returns the certification share per business unit as of asOf (the zero time means
// the engine's Now), over the employees hired by then (those inside the row scope of ctx).
func (e *Engine) Certification(ctx context.Context, asOf time.Time) (*Certification, error) {
	if asOf.IsZero() {
		asOf = e.opts.Now()
	}
	asOf = asOf.UTC()
	r, rargs := rowScopeOf(ctx).sql("business_unit", "region")
	rows, err := e.db.Read.QueryContext(ctx, `SELECT coalesce(business_unit, ''), GROUPING(coalesce(business_unit, '')), count(*),
  count(*) FILTER (WHERE certified_at <= CAST(? AS TIMESTAMP))
FROM employees WHERE (hired_at IS NULL OR hired_at <= CAST(? AS TIMESTAMP))`+r+`
GROUP BY ROLLUP (coalesce(business_unit, '')) ORDER BY 2 DESC, 1`, append([]any{ts(asOf), ts(asOf)}, rargs...)...)
	if err != nil {
		return nil, fmt.Errorf("kpi.Certification: %w", err)
	}
	defer rows.Close()
	out := &Certification{AsOf: asOf, Units: []UnitCertification{}}
	for rows.Next() {
		var u UnitCertification
		var bu sql.NullString
		var total int
		if err := rows.Scan(&bu, &total, &u.Employees, &u.Certified); err != nil {
			return nil, fmt.Errorf("kpi.Certification: %w", err)
		}
		u.BusinessUnit = bu.String
		if u.Employees > 0 {
			u.Share = float64(u.Certified) / float64(u.Employees)
		}
		if total == 1 {
			u.BusinessUnit = ""
			out.Total = u
		} else {
			out.Units = append(out.Units, u)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kpi.Certification: %w", err)
	}
	return out, nil
}
