package synth

import (
	"math"
	"math/rand/v2"
	"time"
)

const day = int64(24 * 3600)

// Business units, in output order. North pilots the new process; South follows in a rollout wave.
const (
	buNorth = iota
	buSouth
	buCentral
	buEnterprise
	numBU
)

var (
	buNames  = [numBU]string{"North", "South", "Central", "Enterprise"}
	regions  = []string{"EMEA", "Americas", "APAC"}
	regionW  = []float64{0.5, 0.3, 0.2}
	segments = []string{"SMB", "Mid-Market", "Enterprise"}
	segmentW = []float64{0.40, 0.35, 0.25}
	// channels with their lead mix, conversion multiplier and cost per lead (EUR).
	channels  = []string{"web", "referral", "events", "partner", "outbound"}
	channelW  = []float64{0.35, 0.15, 0.15, 0.15, 0.20}
	channelCM = []float64{0.8, 1.5, 1.0, 1.2, 0.8}
	channelPL = []float64{45, 20, 260, 90, 140}
	campaigns = [][]string{
		{"Website", "SEO", "Paid Search"},
		{"Customer Referral", "Referral Bonus"},
		{"Summit", "Roadshow", "Webinar"},
		{"Reseller", "Alliance"},
		{"Cold Outreach", "ABM"},
	}
	industries = []string{"Manufacturing", "Retail", "Financial Services", "Healthcare", "Logistics",
		"Energy", "Public Sector", "Technology", "Telecom", "Education"}
	nameA      = []string{"Blue", "North", "Silver", "Bright", "Iron", "Green", "Rapid", "Clear", "Stone", "Sun", "Oak", "Red", "Nova", "Prime", "Alpine", "Coastal"}
	nameB      = []string{"River", "Peak", "Field", "Bridge", "Harbor", "Forge", "Wave", "Point", "Gate", "Ridge", "Line", "Works", "Labs", "Systems", "Foods", "Motors"}
	nameC      = []string{"GmbH", "Ltd", "Inc", "AG", "SA", "BV", "Group", "Holdings", "Co"}
	firstNames = []string{"Anna", "Ben", "Clara", "David", "Eva", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Kim", "Lena", "Marco", "Nora", "Omar", "Paula", "Quentin", "Rosa", "Samir", "Tara", "Uwe", "Vera", "Wei", "Yara", "Zoe"}
	lastNames  = []string{"Adler", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanov", "Jansen", "Kowalski", "Lopez", "Martin", "Novak", "Olsen", "Petit", "Rossi", "Schmidt", "Tanaka", "Umar", "Vogel", "Weber", "Young", "Zhang"}
)

// Product lines: the first two are the complex branch of ltc-standard.
var (
	products = []string{"Enterprise Platform", "Custom Integration", "Starter", "Professional"}
	// productW[segment] are the product-line weights per segment.
	productW = [][]float64{
		{0.00, 0.25, 0.45, 0.30}, // SMB
		{0.30, 0.35, 0.05, 0.30}, // Mid-Market
		{0.60, 0.30, 0.00, 0.10}, // Enterprise
	}
	// amountRange[product] in EUR.
	amountRange = [][2]float64{{120_000, 600_000}, {50_000, 300_000}, {4_000, 20_000}, {20_000, 90_000}}
)

func isComplex(product int) bool { return product <= 1 }

type account struct {
	id, name, industry string
	segment, region    int
	bu                 int
}

type employee struct {
	id, name, role, team, manager string
	bu, region                    int
	hired, certified              int64 // unix seconds; certified 0 = not certified
}

// gen holds one generation run's state. Nothing here is shared between runs.
type gen struct {
	dir   string
	n     int
	r     *rand.Rand
	now   int64
	start int64
	pilot int64 // pilot start (Monday 00:00 UTC)
	wave  int64 // rollout wave start of South
	// month0 is the first month (year*12+month-1) of the data.
	month0 int

	accounts  []account
	employees []employee
	// staff[bu][role] indexes employees; roles 0 sales, 1 solution, 2 delivery.
	staff [numBU][3][]int

	// spendLeads[month][channel][bu] counts leads, for marketing spend.
	spendLeads [][len5][numBU]int

	// Quotas per business unit (see quota): lead conversion, complex deals among opportunities,
	// wins per branch (0 simple, 1 complex) and process adoption.
	convQ, complexQ, adoptQ [numBU]float64
	winQ                    [numBU][2]float64

	// inject lists the injected changes (Options.Inject); binomial turns the quotas off (Options.Binomial).
	inject   []Injection
	binomial bool

	out *outputs
	sum Summary
}

const len5 = 5 // number of channels

func newGen(dir string, n int, seed int64, now time.Time) *gen {
	s := uint64(seed)
	g := &gen{
		dir: dir,
		n:   n,
		r:   rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)),
		now: virtual(now.Unix()),
	}
	startT := time.Date(now.Year()-2, now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	g.start = startT.Unix()
	g.pilot = monday(now.AddDate(0, -10, 0)).Unix()
	g.wave = monday(now.AddDate(0, -4, 0)).Unix()
	g.month0 = startT.Year()*12 + int(startT.Month()) - 1
	months := now.Year()*12 + int(now.Month()) - 1 - g.month0 + 1
	g.spendLeads = make([][len5][numBU]int, months)
	g.sum = Summary{
		Start: startT, Now: now,
		PilotUnit: buNames[buNorth], PilotStart: time.Unix(g.pilot, 0).UTC(),
		WaveUnit: buNames[buSouth], WaveStart: time.Unix(g.wave, 0).UTC(),
	}
	return g
}

// monday returns the Monday 00:00 UTC on or before t's day.
func monday(t time.Time) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	off := (int(d.Weekday()) + 6) % 7
	return d.AddDate(0, 0, -off)
}

// pick returns an index drawn with the given weights.
func (g *gen) pick(w []float64) int {
	var tot float64
	for _, x := range w {
		tot += x
	}
	u := g.r.Float64() * tot
	for i, x := range w {
		if u < x {
			return i
		}
		u -= x
	}
	return len(w) - 1
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// quotaPull is how strongly a quota pulls each draw toward its expected count: the draw's
// probability moves by quotaPull per unit of surplus.
const quotaPull = 0.05

// quota draws a yes with probability p, nudged against the quota's running surplus (yeses − Σp):
// each draw stays random, but over a few dozen draws the count stays within a few of its
// expectation (a deviation of about √(p(1−p)/quotaPull) instead of the binomial √(n·p(1−p))).
// A business unit's rates then differ between windows by their process, not by sampling luck:
// a unit that never changed stays flat, and the mix of simple and complex deals that a median
// sales cycle is very sensitive to stays the same from window to window.
func (g *gen) quota(surplus *float64, p float64) bool {
	pull := quotaPull
	if g.binomial {
		pull = 0
	}
	q := math.Min(1, math.Max(0, p-pull*(*surplus)))
	yes := g.chance(q)
	if yes {
		*surplus += 1 - p
	} else {
		*surplus -= p
	}
	return yes
}

// dur returns a log-normally distributed duration in seconds with the given mean in days.
func (g *gen) dur(meanDays, sigma float64) int64 {
	x := meanDays * math.Exp(sigma*g.r.NormFloat64()-sigma*sigma/2)
	s := int64(x * float64(day))
	if s < 600 {
		s = 600
	}
	return s
}

// uniform returns a uniform duration in seconds between lo and hi days.
func (g *gen) uniform(lo, hi float64) int64 {
	return int64((lo + (hi-lo)*g.r.Float64()) * float64(day))
}

// effect is how far business unit bu has moved to the new process at time t: 0 baseline, 1 full pilot.
// North ramps up over the first four sprints after the pilot start; South reaches 80% of the effect
// over four sprints after its wave (enough to lift its adoption clearly, still short of the pilot's);
// the others stay at baseline.
func (g *gen) effect(bu int, t int64) float64 {
	ramp := func(from int64, full float64) float64 {
		if t < from {
			return 0
		}
		k := float64((t-from)/(14*day) + 1)
		return full * math.Min(1, k/4)
	}
	switch bu {
	case buNorth:
		return ramp(g.pilot, 1)
	case buSouth:
		return ramp(g.wave, 0.8)
	}
	return 0
}

func (g *gen) buildAccounts() {
	na := g.n / 4
	g.accounts = make([]account, na)
	for i := range g.accounts {
		seg := g.pick(segmentW)
		bu := buNorth + g.r.IntN(3)
		switch {
		case seg == 2 && g.chance(0.8):
			bu = buEnterprise
		case seg != 2 && g.chance(0.03):
			bu = buEnterprise
		}
		g.accounts[i] = account{
			id:       id("A", i+1),
			name:     nameA[g.r.IntN(len(nameA))] + " " + nameB[g.r.IntN(len(nameB))] + " " + nameC[g.r.IntN(len(nameC))],
			industry: industries[g.r.IntN(len(industries))],
			segment:  seg,
			region:   g.pick(regionW),
			bu:       bu,
		}
	}
	g.sum.Accounts = na
}

var roleNames = [3]string{"sales", "solution", "delivery"}

func (g *gen) buildEmployees() {
	counts := [3]int{6 + g.n/900, 2 + g.n/3000, 2 + g.n/3000}
	num := 0
	for bu := 0; bu < numBU; bu++ {
		for role := 0; role < 3; role++ {
			c := counts[role]
			if bu == buEnterprise {
				c = c*2/3 + 1
			}
			var manager string
			team := 0
			for k := 0; k < c; k++ {
				num++
				e := employee{
					id:     id("E", num),
					name:   firstNames[g.r.IntN(len(firstNames))] + " " + lastNames[g.r.IntN(len(lastNames))],
					role:   roleNames[role],
					bu:     bu,
					region: g.pick(regionW),
				}
				if k%8 == 0 { // a new team, led by this employee
					team++
					manager = e.id
					e.hired = g.start - g.uniform(400, 3000)
				} else {
					e.manager = manager
					if g.chance(0.18) { // hired during the data period: the new-hire ramp
						e.hired = g.start + g.uniform(0, float64(g.now-g.start)/float64(day)-20)
					} else {
						e.hired = g.start - g.uniform(30, 2500)
					}
				}
				e.team = buNames[bu] + " " + titleRole(role) + " " + string(rune('A'+team-1))
				e.certified = g.certification(bu, e.hired)
				g.staff[bu][role] = append(g.staff[bu][role], len(g.employees))
				g.employees = append(g.employees, e)
			}
		}
	}
	g.sum.Employees = len(g.employees)
}

func titleRole(role int) string {
	return [3]string{"Sales", "Solution", "Delivery"}[role]
}

// certification returns when an employee was certified in the new process (0 = not, or not yet).
func (g *gen) certification(bu int, hired int64) int64 {
	var at int64
	switch {
	case bu == buNorth && g.chance(0.92):
		at = g.pilot - 7*day + g.uniform(0, 42)
	case bu == buSouth && g.chance(0.8):
		at = g.wave - 7*day + g.uniform(0, 35)
	case g.chance(0.15): // early adopters trained after the pilot started
		at = g.pilot + g.uniform(14, float64(g.now-g.pilot)/float64(day))
	case g.chance(0.04): // the old certification programme
		at = g.start + g.uniform(0, float64(g.pilot-g.start)/float64(day))
	default:
		return 0
	}
	if at < hired+14*day {
		at = hired + 14*day + g.uniform(0, 30)
	}
	if at > g.now {
		return 0
	}
	return at
}

// staffer picks an employee of bu with role who was hired by t (the team lead if none is found).
func (g *gen) staffer(bu, role int, t int64) *employee {
	list := g.staff[bu][role]
	for try := 0; try < 8; try++ {
		e := &g.employees[list[g.r.IntN(len(list))]]
		if e.hired <= t {
			return e
		}
	}
	return &g.employees[list[0]]
}

// id formats a zero-padded identifier such as L-0000042.
func id(prefix string, n int) string {
	b := make([]byte, 0, len(prefix)+8)
	b = append(b, prefix...)
	b = append(b, '-')
	var d [7]byte
	for i := 6; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return string(append(b, d[:]...))
}

// scale multiplies a duration in seconds by f.
func scale(d int64, f float64) int64 { return int64(float64(d) * f) }
