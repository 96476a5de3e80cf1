package synth

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Injection is a sustained change injected into the generated business, for backtesting alert
// rules (DESIGN §7): from From on, in one business unit, the chance behind a KPI is multiplied by
// 1 + Change.
//   - lead_conversion: a lead created at or after From converts with that factor (the unit's quota
//     follows the new chance, so the change is sustained, not a one-off).
//   - gate_compliance: a gate reached at or after From is passed in time with that factor; the lost
//     share goes to missing, failed and late in their usual proportions.
//
// Leads are generated in time order, so the data before From is byte-identical with and without
// the injection (same seed).
type Injection struct {
	KPI    string
	Change float64 // relative, e.g. -0.25
	From   time.Time
	Unit   string // a business unit, or AllUnits
}

// AllUnits as an Injection's Unit injects the change into every business unit (e.g. to give a KPI
// whose units are each below the minimum n a drop in its total).
const AllUnits = "*"

// InjectableKPIs are the KPI names an Injection accepts.
var InjectableKPIs = []string{"lead_conversion", "gate_compliance"}

var injectionRE = regexp.MustCompile(`^([a-z_]+)=([+-]?[0-9]+(?:\.[0-9]+)?)%@([0-9]{4}-[0-9]{2}-[0-9]{2}):(.+)$`)

// ParseInjection parses "kpi=±N%@YYYY-MM-DD:Unit", e.g. "lead_conversion=-25%@2026-09-01:North"
// (Unit * for every unit).
func ParseInjection(s string) (Injection, error) {
	m := injectionRE.FindStringSubmatch(s)
	if m == nil {
		return Injection{}, fmt.Errorf("synth.ParseInjection(%q): want kpi=±N%%@YYYY-MM-DD:unit, e.g. lead_conversion=-25%%@2026-09-01:North", s)
	}
	in := Injection{KPI: m[1], Unit: m[4]}
	pct, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		return Injection{}, fmt.Errorf("synth.ParseInjection(%q): %w", s, err)
	}
	in.Change = pct / 100
	if in.From, err = time.Parse(time.DateOnly, m[3]); err != nil {
		return Injection{}, fmt.Errorf("synth.ParseInjection(%q): %w", s, err)
	}
	return in, in.validate()
}

func (in Injection) validate() error {
	known := false
	for _, k := range InjectableKPIs {
		known = known || k == in.KPI
	}
	if !known {
		return fmt.Errorf("synth: cannot inject into KPI %q (want one of %s)", in.KPI, strings.Join(InjectableKPIs, ", "))
	}
	if in.Change <= -1 || in.Change > 1 {
		return fmt.Errorf("synth: injected change %+.0f%% out of range (-100%%, +100%%]", in.Change*100)
	}
	if in.Unit != AllUnits && unitIndex(in.Unit) < 0 {
		return fmt.Errorf("synth: unknown business unit %q (want one of %s, or %s for all)", in.Unit, strings.Join(buNames[:], ", "), AllUnits)
	}
	return nil
}

// String renders the injection in the form ParseInjection reads.
func (in Injection) String() string {
	return fmt.Sprintf("%s=%+g%%@%s:%s", in.KPI, in.Change*100, in.From.Format(time.DateOnly), in.Unit)
}

func unitIndex(name string) int {
	for i, n := range buNames {
		if n == name {
			return i
		}
	}
	return -1
}

// injected returns the factor on the chance behind kpi in business unit bu at virtual time t (1 without injection).
func (g *gen) injected(kpi string, bu int, t int64) float64 {
	f := 1.0
	for _, in := range g.inject {
		// A virtual day maps onto the same date, so virtual t ≥ From's midnight is "on or after From".
		if in.KPI == kpi && (in.Unit == AllUnits || unitIndex(in.Unit) == bu) && t >= in.From.Unix() {
			f *= 1 + in.Change
		}
	}
	return f
}
