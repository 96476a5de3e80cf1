package synth

import (
	"context"
	"math"
	"slices"
	"strconv"
	"time"
)

// Stages in ltc-standard process order (used for the adoption skips).
const (
	stLeadCreated = iota
	stLeadQualified
	stOppCreated
	stNeeds
	stDesign
	stReview // gate
	stQuote
	stContractReview // gate
	stSigned
	stDeliveryStarted
	stDeliveryAccepted
	stInvoiced
	stCash
	stPersonal // personal tier: maps to no stage
)

var activities = [...]string{"Lead Created", "Lead Qualified", "Opportunity Created", "Needs Analysis",
	"Solution Design", "Solution Review", "Quote Sent", "Contract Review", "Contract Signed",
	"Delivery Started", "Delivery Accepted", "Invoice Issued", "Payment Received"}

var personal = []string{"Call", "Email", "Customer Lunch", "Internal Sync"}
var personalW = []float64{0.45, 0.35, 0.05, 0.15}

// skippable lists the non-gate stages a case that has not adopted the process may leave out,
// with weights: mostly needs analysis and the quote, rarely solution design.
var skippable = []struct {
	stage int
	w     float64
}{{stLeadQualified, 0.15}, {stNeeds, 0.40}, {stDesign, 0.04}, {stQuote, 0.30}, {stDeliveryStarted, 0.11}}

type event struct {
	t        int64
	stage    int
	activity string
	actor    *employee
	role     string
	outcome  string
	tmpl     int8 // -1 not applicable, 0 false, 1 true
}

// caseState is the reusable per-case scratch space.
type caseState struct {
	events []event
	buf    []byte
}

// gate outcomes for compliance.
const (
	gateOK = iota
	gateMissing
	gateFailed
	gateLate
)

// gateOutcome draws the outcome of a gate of business unit bu reached at t, with the unit's effect eff
// there; an injected gate_compliance change scales the chance of passing in time (see Injection).
func (g *gen) gateOutcome(eff float64, bu int, t int64) int {
	missing := 0.14 - 0.12*eff
	failed := 0.04 - 0.03*eff
	late := 0.09 - 0.07*eff
	if f := g.injected("gate_compliance", bu, t); f != 1 {
		bad := missing + failed + late
		k := max(0, min(1/bad, (1-(1-bad)*f)/bad))
		missing, failed, late = missing*k, failed*k, late*k
	}
	u := g.r.Float64()
	switch {
	case u < missing:
		return gateMissing
	case u < missing+failed:
		return gateFailed
	case u < missing+failed+late:
		return gateLate
	}
	return gateOK
}

// leadTime returns the creation time of lead i: lead volume grows by about 30% over the period.
func (g *gen) leadTime(i int) int64 {
	p := (float64(i) + g.r.Float64()) / float64(g.n)
	const a = 0.3
	x := (-1 + math.Sqrt(1+2*a*(1+a/2)*p)) / a
	t := g.start + int64(x*float64(g.now-g.start))
	if t > g.now {
		t = g.now - int64(g.r.IntN(3600))
	}
	return t
}

func (g *gen) run(ctx context.Context) error {
	g.buildAccounts()
	g.buildEmployees()
	if err := g.openOutputs(); err != nil {
		return err
	}
	cs := &caseState{}
	for i := 0; i < g.n; i++ {
		if i%8192 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := g.lead(i, cs); err != nil {
			return err
		}
	}
	o := g.out
	for _, f := range []*file{o.leads, o.opps, o.deliveries, o.invoices, o.payments, o.assignments} {
		if err := f.close(); err != nil {
			return err
		}
		g.sum.Files++
	}
	if err := o.contracts.close(); err != nil {
		return err
	}
	if err := g.finishEvents(ctx); err != nil {
		return err
	}
	if err := g.writeContractsParquet(ctx); err != nil {
		return err
	}
	if err := g.writeReference(); err != nil {
		return err
	}
	return g.writeConfig()
}

// lead generates one lead and, if it converts, its opportunity, contract, delivery, invoices and payments.
func (g *gen) lead(i int, cs *caseState) error {
	now := g.now
	t := g.leadTime(i)
	acc := &g.accounts[g.r.IntN(len(g.accounts))]
	bu := acc.bu
	ch := g.pick(channelW)
	camps := campaigns[ch]
	tt := time.Unix(t, 0).UTC()
	campaign := camps[g.r.IntN(len(camps))] + " " + strconv.Itoa(tt.Year()) + " Q" + strconv.Itoa((int(tt.Month())-1)/3+1)
	owner := g.staffer(bu, 0, t)
	eff := g.effect(bu, t)
	g.spendLeads[tt.Year()*12+int(tt.Month())-1-g.month0][ch][bu]++

	pConv := 0.15 * channelCM[ch] * (1 + 0.75*eff) * g.injected("lead_conversion", bu, t)
	if t-owner.hired < 90*day { // new hires convert less while they ramp up
		pConv *= 0.75
	}
	var qualified, converted, disq int64
	fLead := 1 - 0.3*eff // the new process qualifies and converts faster
	// pace is how fast this customer moves through the whole sales cycle (every step's duration is
	// scaled by it): it blurs the simple and complex deals' cycle times (about 1:2) into one continuous
	// distribution, whose median moves with the process instead of jumping between two modes.
	pace := math.Exp(0.2*g.r.NormFloat64() - 0.02)
	convert := g.quota(&g.convQ[bu], pConv)
	u := pConv + (1-pConv)*g.r.Float64() // the leads that do not convert: 22% of all qualify
	switch {
	case convert:
		qualified = t + scale(g.dur(3*fLead, 0.6), pace)
		converted = qualified
		if !g.chance(0.15) { // else qualified and converted in one go: same timestamp
			converted += scale(g.dur(3*fLead, 0.6), pace)
		}
	case u < pConv+0.22:
		qualified = t + g.dur(4, 0.6)
		if g.chance(0.7) {
			disq = qualified + g.uniform(5, 40)
		}
	default:
		if g.chance(0.75) {
			disq = t + g.uniform(2, 30)
		}
	}
	leadID := id("L", i+1)
	status := "New"
	var oppID string
	switch {
	case converted != 0 && converted <= now:
		status = "Converted"
		g.sum.Opportunities++
		oppID = id("O", g.sum.Opportunities)
	case disq != 0 && disq <= now:
		status = "Disqualified"
	case qualified != 0 && qualified <= now:
		status = "Qualified"
	}
	g.sum.Leads++

	b := cs.buf[:0]
	b = append(b, leadID...)
	b = append(b, ',')
	b = appendTS(b, t)
	b = append(b, ',')
	b = append(b, channels[ch]...)
	b = append(b, ',')
	b = append(b, campaign...)
	b = append(b, ',')
	b = append(b, acc.id...)
	b = append(b, ',')
	b = append(b, owner.id...)
	b = append(b, ',')
	b = append(b, buNames[bu]...)
	b = append(b, ',')
	b = append(b, regions[acc.region]...)
	b = append(b, ',')
	b = append(b, segments[acc.segment]...)
	b = append(b, ',')
	b = append(b, status...)
	b = append(b, ',')
	b = appendOptTS(b, qualified, now)
	b = append(b, ',')
	b = appendOptTS(b, converted, now)
	b = append(b, ',')
	b = append(b, oppID...)
	b = append(b, '\n')
	g.out.leads.w.Write(b)
	cs.buf = b

	cs.events = cs.events[:0]
	ev := func(t int64, stage int, actor *employee, role string) *event {
		cs.events = append(cs.events, event{t: t, stage: stage, activity: activities[stage], actor: actor, role: role, tmpl: -1})
		return &cs.events[len(cs.events)-1]
	}
	ev(t, stLeadCreated, owner, "sales")
	if oppID == "" {
		end := t + 2*day
		if qualified != 0 {
			ev(qualified, stLeadQualified, owner, "sales")
			end = qualified + 3*day
		}
		if disq != 0 {
			end = disq
		}
		for k := g.r.IntN(6); k > 0; k-- {
			g.personalEvent(cs, t, end, owner, owner)
		}
		return g.writeEvents(leadID, cs)
	}
	ev(qualified, stLeadQualified, owner, "sales")
	return g.opportunity(oppID, leadID, acc, owner, eff, pace, t, converted, cs)
}

func (g *gen) personalEvent(cs *caseState, from, to int64, owner, other *employee) {
	if to <= from {
		to = from + day
	}
	k := g.pick(personalW)
	actor, role := owner, "sales"
	if k == 3 && other != nil {
		actor, role = other, other.role
	}
	cs.events = append(cs.events, event{t: from + g.r.Int64N(to-from), stage: stPersonal, activity: personal[k],
		actor: actor, role: role, tmpl: -1})
}

// opportunity generates the opportunity phase of a converted lead.
//
// eff is the unit's effect at the lead's creation (adoption, templates, win chance, roles); each
// step's duration uses the effect at the time the step starts, so a deal in flight when its unit
// changes process finishes at the new pace. pace scales every step's duration (see lead).
func (g *gen) opportunity(oppID, leadID string, acc *account, owner *employee, eff, pace float64, start, created int64, cs *caseState) error {
	now := g.now
	bu := acc.bu
	// The branch (simple or complex) is drawn against a quota per unit, then the product within it.
	pw := productW[acc.segment]
	var product int
	if g.quota(&g.complexQ[bu], pw[0]+pw[1]) {
		product = g.pick(pw[:2])
	} else {
		product = 2 + g.pick(pw[2:])
	}
	complex := isComplex(product)
	lo, hi := amountRange[product][0], amountRange[product][1]
	amount := int64((lo + (hi-lo)*g.r.Float64()*g.r.Float64()) * 100)
	adopted := g.quota(&g.adoptQ[bu], 0.45+0.45*eff)
	pTemplate := 0.3 + 0.6*eff
	solution := g.staffer(bu, 1, created)
	delivery := g.staffer(bu, 2, created)

	ev := func(t int64, stage int, actor *employee, role string) *event {
		cs.events = append(cs.events, event{t: t, stage: stage, activity: activities[stage], actor: actor, role: role, tmpl: -1})
		return &cs.events[len(cs.events)-1]
	}
	tmpl := func(e *event) {
		e.tmpl = 0
		if g.chance(pTemplate) {
			e.tmpl = 1
		}
	}
	gate := func(t int64, stage int, actor *employee, role, outcome string) {
		ev(t, stage, actor, role).outcome = outcome
	}
	// step returns a step's duration starting at c: log-normal around mean days, scaled by the case's
	// pace and by the new process's speed-up at c (1 − speedup·effect; design also reworks less).
	step := func(c int64, mean, sigma, speedup float64) int64 {
		return scale(g.dur(mean*(1-speedup*g.effect(bu, c)), sigma), pace)
	}
	const fast, fastDesign = 0.34, 0.38 // the speed-ups at full effect

	pWin := 0.35 + 0.06*eff
	cx := 0
	if complex {
		cx = 1
	}
	won := g.quota(&g.winQ[bu][cx], pWin)
	lossPoint := -1 // 0 after needs analysis, 1 after solution review, 2 after quote, 3 after contract review
	if !won {
		w := []float64{0.3, 0.25, 0.35, 0.1}
		if !complex {
			w[1] = 0
		}
		lossPoint = g.pick(w)
	}
	var solAssigned, delAssigned int64
	pSol, pDelEarly, pDelLate := 0.2+0.3*eff, 0.1+0.8*eff, 0.6+0.3*eff
	if complex {
		pSol = 0.75 + 0.23*eff
	}

	ev(created, stOppCreated, owner, "sales")
	c := created + step(created, 2.5, 0.5, fast)
	tmpl(ev(c, stNeeds, owner, "sales"))
	c += step(c, 5.5, 0.4, fast)
	closed := int64(0)
	if lossPoint == 0 {
		closed = c
	}
	if closed == 0 && complex {
		if g.chance(pSol) {
			solAssigned = c - g.uniform(0, 2)
		}
		if g.chance(pDelEarly) {
			delAssigned = c
		}
		tmpl(ev(c, stDesign, solution, "solution"))
		c += step(c, 25.5, 0.4, fastDesign)
		if g.chance(0.25 - 0.12*g.effect(bu, c)) { // review fails: rework the design
			gate(c, stReview, solution, "solution", "fail")
			c += step(c, 2, 0.5, fast)
			tmpl(ev(c, stDesign, solution, "solution"))
			c += step(c, 8, 0.5, fastDesign)
		}
		lateReview := false
		switch g.gateOutcome(g.effect(bu, c), bu, c) {
		case gateOK:
			gate(c, stReview, solution, "solution", "pass")
		case gateFailed:
			gate(c, stReview, solution, "solution", "fail")
		case gateLate:
			lateReview = true
		}
		c += step(c, 3, 0.5, fast)
		if lateReview {
			gate(c+g.dur(2, 0.5), stReview, solution, "solution", "pass")
		}
		if lossPoint == 1 {
			closed = c
		}
	} else if closed == 0 && g.chance(pSol) {
		solAssigned = c
	}
	if closed == 0 {
		tmpl(ev(c, stQuote, owner, "sales"))
		if !complex && g.chance(pDelEarly) {
			delAssigned = c
		}
		d := step(c, 8, 0.5, fast)
		if g.chance(0.15) { // revised quote
			tmpl(ev(c+d/2, stQuote, owner, "sales"))
		}
		c += d
		if lossPoint == 2 {
			closed = c
		}
	}
	var signed int64
	if closed == 0 {
		const crDur = 4.5
		switch g.gateOutcome(g.effect(bu, c), bu, c) {
		case gateOK:
			if g.chance(0.2) { // review fails first, is fixed, passes
				gate(c, stContractReview, owner, "sales", "fail")
				c += step(c, 3, 0.5, fast)
			}
			if g.chance(0.25) { // reviewed at the signing meeting: same timestamp, review first
				c += step(c, crDur, 0.5, fast)
				gate(c, stContractReview, owner, "sales", "pass")
			} else {
				gate(c, stContractReview, owner, "sales", "pass")
				c += step(c, crDur, 0.5, fast)
			}
		case gateMissing:
			c += step(c, crDur, 0.5, fast)
		case gateFailed:
			gate(c, stContractReview, owner, "sales", "fail")
			c += step(c, crDur, 0.5, fast)
		case gateLate:
			c += step(c, crDur, 0.5, fast)
			gate(c+g.dur(1, 0.5), stContractReview, owner, "sales", "pass")
		}
		if lossPoint == 3 {
			closed = c
		} else {
			signed = c
			closed = c
			ev(signed, stSigned, owner, "sales")
		}
	}
	if signed != 0 && delAssigned == 0 && g.chance(pDelLate) {
		delAssigned = signed + g.uniform(0, 3)
	}

	// delivery, invoicing, cash
	if signed != 0 && signed <= now {
		if err := g.fulfil(oppID, signed, amount, complex, eff, delivery, ev); err != nil {
			return err
		}
	}

	// assignments (the iron triangle)
	b := cs.buf[:0]
	assign := func(e *employee, role string, at int64) {
		if at == 0 || at > now {
			return
		}
		b = append(b, oppID...)
		b = append(b, ',')
		b = append(b, e.id...)
		b = append(b, ',')
		b = append(b, role...)
		b = append(b, ',')
		b = appendTS(b, at)
		b = append(b, '\n')
		g.sum.Assignments++
	}
	assign(owner, "sales", created)
	assign(solution, "solution", solAssigned)
	assign(delivery, "delivery", delAssigned)
	g.out.assignments.w.Write(b)

	// the opportunity row
	st := "Open"
	if closed != 0 && closed <= now {
		st = "Lost"
		if signed != 0 {
			st = "Won"
		}
	}
	b = b[:0]
	b = append(b, `{"opportunity_id":`...)
	b = appendJSONString(b, oppID)
	b = append(b, `,"lead_id":`...)
	b = appendJSONString(b, leadID)
	b = append(b, `,"account_id":`...)
	b = appendJSONString(b, acc.id)
	b = append(b, `,"owner_id":`...)
	b = appendJSONString(b, owner.id)
	b = append(b, `,"business_unit":`...)
	b = appendJSONString(b, buNames[bu])
	b = append(b, `,"region":`...)
	b = appendJSONString(b, regions[acc.region])
	b = append(b, `,"segment":`...)
	b = appendJSONString(b, segments[acc.segment])
	b = append(b, `,"product_line":`...)
	b = appendJSONString(b, products[product])
	b = append(b, `,"created_at":"`...)
	b = appendTS(b, created)
	b = append(b, `","closed_at":`...)
	if st == "Open" {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = appendTS(b, closed)
		b = append(b, '"')
	}
	b = append(b, `,"status":"`...)
	b = append(b, st...)
	b = append(b, `","amount":`...)
	b = appendMoney(b, amount)
	b = append(b, `,"currency":"EUR"}`...)
	b = append(b, '\n')
	g.out.opps.w.Write(b)
	cs.buf = b

	// personal-tier activities across the case
	end := c
	for _, e := range cs.events {
		end = max(end, e.t)
	}
	for k := 2 + g.r.IntN(7); k > 0; k-- {
		g.personalEvent(cs, start, end, owner, solution)
	}
	if !adopted {
		g.skipStages(cs)
	}
	return g.writeEvents(oppID, cs)
}

// fulfil writes the contract, delivery, invoices and payments of a won deal and adds their events.
func (g *gen) fulfil(oppID string, signed, amount int64, complex bool, eff float64, delivery *employee,
	ev func(int64, int, *employee, string) *event) error {
	now := g.now
	num := oppID[2:]
	value := amount * int64(90+g.r.IntN(16)) / 100
	planned := 30.0
	if complex {
		planned = 90
	}
	committed := signed + int64(planned*float64(day))
	started := signed + g.dur(6, 0.5)
	accepted := started + g.dur(planned*(0.74-0.1*eff), 0.3)

	b := make([]byte, 0, 128)
	b = append(b, "C-"...)
	b = append(b, num...)
	b = append(b, ",O-"...)
	b = append(b, num...)
	b = append(b, ',')
	b = appendTS(b, signed)
	b = append(b, ',')
	b = appendMoney(b, value)
	b = append(b, ',')
	b = appendTS(b, committed)
	b = append(b, '\n')
	g.out.contracts.w.Write(b)
	g.sum.Contracts++

	if started > now {
		return nil
	}
	ev(started, stDeliveryStarted, delivery, "delivery")
	b = b[:0]
	b = append(b, "D-"...)
	b = append(b, num...)
	b = append(b, ",C-"...)
	b = append(b, num...)
	b = append(b, ',')
	b = appendTS(b, started)
	b = append(b, ',')
	b = appendOptTS(b, accepted, now)
	b = append(b, ',')
	if accepted <= now {
		csat := 4.3 + 0.6*g.r.NormFloat64()
		if accepted > committed {
			csat -= 0.9
		}
		csat = math.Max(1, math.Min(5, csat))
		b = strconv.AppendFloat(b, math.Round(csat*10)/10, 'f', 1, 64)
	}
	b = append(b, '\n')
	g.out.deliveries.w.Write(b)
	g.sum.Deliveries++
	if accepted > now {
		return nil
	}
	ev(accepted, stDeliveryAccepted, delivery, "delivery")

	issued := accepted
	if !g.chance(0.3) { // else invoiced the moment delivery is accepted: same timestamp
		issued += g.dur(3, 0.5)
	}
	parts := []int64{value}
	if complex {
		first := value * 70 / 100
		parts = []int64{first, value - first}
	}
	for k, part := range parts {
		if issued > now {
			break
		}
		ev(issued, stInvoiced, nil, "finance")
		invID := "I-" + num + "-" + strconv.Itoa(k+1)
		due := issued + 30*day
		b = b[:0]
		b = append(b, invID...)
		b = append(b, ",C-"...)
		b = append(b, num...)
		b = append(b, ',')
		b = appendTS(b, issued)
		b = append(b, ',')
		b = appendTS(b, due)
		b = append(b, ',')
		b = appendMoney(b, part)
		b = append(b, '\n')
		g.out.invoices.w.Write(b)
		g.sum.Invoices++

		var received int64
		switch u := g.r.Float64(); {
		case u < 0.75-0.1*eff:
			received = issued + g.dur(24, 0.35)
		case u < 0.96:
			received = issued + g.dur(62, 0.3) // paid late
		}
		if received != 0 && received <= now {
			ev(received, stCash, nil, "finance")
			b = b[:0]
			b = append(b, "P-"...)
			b = append(b, invID[2:]...)
			b = append(b, ',')
			b = append(b, invID...)
			b = append(b, ',')
			b = appendTS(b, received)
			b = append(b, ',')
			b = appendMoney(b, part)
			b = append(b, '\n')
			g.out.payments.w.Write(b)
			g.sum.Payments++
		}
		issued += 30*day + g.uniform(0, 10)
	}
	return nil
}

// skipStages removes one or two expected stages, each before the furthest stage the case reached,
// so the case counts as not having adopted the process.
func (g *gen) skipStages(cs *caseState) {
	furthest := -1
	var present [stPersonal]bool
	for _, e := range cs.events {
		if e.stage < stPersonal && e.t <= g.now {
			present[e.stage] = true
			furthest = max(furthest, e.stage)
		}
	}
	var cand []int
	var w []float64
	for _, s := range skippable {
		if present[s.stage] && s.stage < furthest {
			cand = append(cand, s.stage)
			w = append(w, s.w)
		}
	}
	if len(cand) == 0 {
		return
	}
	k := g.pick(w)
	drop := cand[k]
	drop2 := -1
	if len(cand) > 1 && g.chance(0.3) {
		w[k] = 0
		drop2 = cand[g.pick(w)]
	}
	cs.events = slices.DeleteFunc(cs.events, func(e event) bool { return e.stage == drop || e.stage == drop2 })
}

// writeEvents sorts a case's events by time (stable: equal timestamps keep process order) and
// writes those up to now to the monthly files.
func (g *gen) writeEvents(caseID string, cs *caseState) error {
	slices.SortStableFunc(cs.events, func(a, b event) int {
		switch {
		case a.t < b.t:
			return -1
		case a.t > b.t:
			return 1
		}
		return 0
	})
	for i := range cs.events {
		e := &cs.events[i]
		if e.t > g.now {
			break
		}
		w, err := g.eventFile(e.t)
		if err != nil {
			return err
		}
		b := cs.buf[:0]
		b = append(b, caseID...)
		b = append(b, ',')
		b = append(b, e.activity...)
		b = append(b, ',')
		b = appendTS(b, e.t)
		b = append(b, ',')
		if e.actor != nil {
			b = append(b, e.actor.id...)
		}
		b = append(b, ',')
		b = append(b, e.role...)
		b = append(b, ',')
		b = append(b, e.outcome...)
		b = append(b, ',')
		switch e.tmpl {
		case 0:
			b = append(b, "false"...)
		case 1:
			b = append(b, "true"...)
		}
		b = append(b, '\n')
		w.Write(b)
		cs.buf = b
		g.sum.Events++
	}
	return nil
}
