package main

// Browser tests of the executive dashboards: `ltc demo` runs in-process on the small demo, headless
// Chromium (Debian's chromium, driven by chromedp) opens each page, waits until the page says its
// charts have rendered (body[data-ready=true]), and the rendered numbers are compared with what a
// GraphQL request returns for the same scope, formatted by a Go copy of the page's rules. A filter
// change must change the numbers (to the filtered API values), the console must stay free of errors
// and nothing may load from another origin. Screenshots (and a print PDF) go under the test's temp
// dir, or under $LTC_UI_ARTIFACTS when set; their paths are logged.
//
// LTC_UI_DEMO_SIZE=medium runs the same tests on the medium demo (and logs the time to first chart).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ltc-analytics/ltc/dashboards/web"
	"github.com/ltc-analytics/ltc/internal/testenv"
)

// Budgets the dashboards must stay within.
const (
	// maxRequestsPerLoad bounds the GraphQL requests of a full page load: one boot query (filter
	// values, data freshness and version) and one query for the page.
	maxRequestsPerLoad = 2
	// maxRequestsPerNav bounds the GraphQL requests of a page change inside the app.
	maxRequestsPerNav = 1
	// maxTransferBytes bounds the gzip-compressed JavaScript and CSS the browser downloads.
	maxTransferBytes = 220 << 10
)

const (
	// width, height is the desktop viewport; tabletWidth, tabletHeight a tablet in portrait.
	width, height             = 1440, 900
	tabletWidth, tabletHeight = 820, 1180
	renderTimeout             = 90 * time.Second
)

// pages are the dashboard's pages in nav order (dashboards/web/src/state.js PAGES; testScreenshots
// checks the nav against it).
var pages = []string{"overview", "funnel", "valuestream", "adoption", "cash", "diagnosis", "initiative"}

// TestDashboards is the end-to-end test of every page; the subtests share one server and one browser.
func TestDashboards(t *testing.T) {
	chromium := testenv.Tool(t, "chromium", "apt-get install chromium; .ci/run installs it")
	if !web.New(web.Options{}).Built() {
		testenv.Missing(t, "dashboards not bundled (make ui, or npm ci && npm run build in dashboards/web)")
	}
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	base := startDemo(t, envOr("LTC_UI_DEMO_SIZE", "small"))
	browser := startBrowser(t, chromium)
	art := artifactDir(t)

	t.Run("overview", func(t *testing.T) { testOverview(t, browser, base, art) })
	t.Run("funnel", func(t *testing.T) { testFunnel(t, browser, base, art) })
	t.Run("valuestream", func(t *testing.T) { testValueStream(t, browser, base, art) })
	t.Run("adoption", func(t *testing.T) { testAdoption(t, browser, base, art) })
	t.Run("cash", func(t *testing.T) { testCash(t, browser, base, art) })
	t.Run("diagnosis", func(t *testing.T) { testDiagnosis(t, browser, base, art) })
	t.Run("initiative", func(t *testing.T) { testInitiative(t, browser, base, art) })
	t.Run("one bottleneck", func(t *testing.T) { testOneBottleneck(t, browser, base) })
	t.Run("empty", func(t *testing.T) { testEmpty(t, browser, base, art) })
	t.Run("error", func(t *testing.T) { testError(t, browser, base, art) })
	t.Run("budget", func(t *testing.T) { testBudget(t, browser, base) })
	t.Run("screenshots", func(t *testing.T) { testScreenshots(t, browser, base, art) })
}

// testScreenshots writes a full-page screenshot of every page at the desktop and the tablet width
// for review (their paths are logged), one load per page and width; no page may overflow
// horizontally, hide table columns or fail a card.
func testScreenshots(t *testing.T, browser context.Context, base, art string) {
	for _, vp := range []struct{ w, h int64 }{{width, height}, {tabletWidth, tabletHeight}} {
		tb := openTab(t, browser, base, vp.w, vp.h)
		for i, page := range pages {
			if i == 0 {
				tb.load("#/" + page)
				if nav := tb.eval(`[...document.querySelectorAll('nav a')].map(a => a.dataset.page)`); fmt.Sprint(nav) != fmt.Sprint(pages) {
					t.Errorf("the nav lists %v, the test screenshots %v", nav, pages)
				}
			} else {
				tb.navigate("#/" + page)
			}
			tb.noCardErrors()
			if over := tb.eval(`document.documentElement.scrollWidth - document.documentElement.clientWidth`); over.(float64) > 0 {
				t.Errorf("%s at %dpx overflows horizontally by %vpx", page, vp.w, over)
			}
			// A table wider than its card hides columns behind a scroll bar nobody sees.
			if cut := tb.eval(`[...document.querySelectorAll('#page .table-wrap')].filter(w => w.scrollWidth > w.clientWidth + 1).map(w => w.closest('[data-card]').dataset.card)`); len(cut.([]any)) > 0 {
				t.Errorf("%s at %dpx: the tables of %v are wider than their cards", page, vp.w, cut)
			}
			tb.screenshot(art, fmt.Sprintf("%s-%d", page, vp.w))
		}
		tb.noConsoleErrors()
	}
}

// --- overview -------------------------------------------------------------------------------------

// overviewTiles are the overview's headline tiles: data-kpi key, unit and the API path of the value.
var overviewTiles = []struct {
	key, unit string
	path      []any
}{
	{"leadConversion", "ratio", []any{"leadConversion", "total"}},
	{"winRate", "ratio", []any{"winRate", "total"}},
	{"salesCycle", "days", []any{"cycleTimes", "total", "sales", "p50Days"}},
	{"adoption", "ratio", []any{"adoption", "total", "rate"}},
	{"compliance", "ratio", []any{"compliance", "total", "rate"}},
	{"dso", "days", []any{"cash", "total", "dsoDays"}},
}

const overviewQuery = `query($s: ScopeInput!) {
  leadConversion(scope: $s) { total { ...V } }
  winRate(scope: $s) { total { ...V } }
  cycleTimes(scope: $s) { total { sales { p50Days { ...V } } } }
  adoption(scope: $s) { total { rate { ...V } } }
  compliance(scope: $s) { total { rate { ...V } } }
  cash(scope: $s) { total { dsoDays { ...V } } }
  valueStream(scope: $s) { total { bottleneck stages { stage share { value } } } }
}
fragment V on KpiValue { value previous n previousN }`

func testOverview(t *testing.T, browser context.Context, base, art string) {
	tb := openTab(t, browser, base, width, height)
	to := time.Now().UTC().Truncate(24 * time.Hour)
	from := to.AddDate(0, 0, -89)
	tb.load(fmt.Sprintf("#/overview?period=custom&from=%s&to=%s", from.Format(time.DateOnly), to.Format(time.DateOnly)))
	t.Logf("first visit: first chart drawn %v ms after navigation start", tb.eval(`window.__ltc.firstChartMs`))
	scope := tb.scope()
	if scope["from"] != from.Format(time.RFC3339) || scope["to"] != to.AddDate(0, 0, 1).Format(time.RFC3339) {
		t.Errorf("custom period %s..%s gave scope %v", from.Format(time.DateOnly), to.Format(time.DateOnly), scope)
	}
	before := checkOverview(t, tb, base, scope)
	tb.noCardErrors()
	if n := tb.eval(`document.querySelectorAll('#page canvas').length`); n.(float64) < 8 {
		t.Errorf("overview draws %v canvases, want at least 8 (6 sparklines and 2+ charts)", n)
	}
	if f := tb.text(`[data-testid=freshness]`); !strings.Contains(f, "Data as of") {
		t.Errorf("freshness shows %q", f)
	}
	if csv := tb.eval(`window.__ltc.csv('headline')`); csv == nil || !strings.HasPrefix(csv.(string), "kpi,unit,value,previous") || strings.Count(csv.(string), "\n") != 7 {
		t.Errorf("headline CSV: %v", csv)
	}
	// "Why did it move?" on the lead-conversion tile explains the change as the API does.
	tb.click(`[data-card=headline] button[data-explain=lead_conversion]`)
	tb.poll(`document.querySelector('#explain-panel:not([data-state=loading])') !== null`)
	if st := tb.eval(`document.querySelector('#explain-panel').dataset.state`); st != "ready" {
		t.Fatalf("the explanation panel is %v: %s", st, tb.text(`#explain-panel`))
	}
	x := at(graphql(t, base, `query($s: ScopeInput!) { explainChange(kpi: "lead_conversion", scope: $s) { splits { mix rate } } }`,
		map[string]any{"s": withGroupByNames(scope, "business_unit")}), "explainChange", "splits").([]any)[0]
	if got, w := tb.text(`#explain-panel [data-dimension=business_unit] h3`), "Business unit: mix "+ppChange(at(x, "mix").(float64))+", rate "+ppChange(at(x, "rate").(float64)); got != w {
		t.Errorf("explanation by business unit %q, API gives %q", got, w)
	}
	if s := tb.text(`#explain-panel [data-testid=explain-sentence]`); !strings.HasPrefix(s, "Lead conversion ") {
		t.Errorf("explanation sentence %q", s)
	}
	if s := tb.text(`#explain-panel [data-testid=maturity]`); !strings.HasPrefix(s, "Still maturing: ") {
		t.Errorf("lead conversion's explanation does not say it is still maturing: %q", s)
	}
	tb.act(`document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}))`)
	tb.poll(`document.querySelector('#explain-panel') === null`)

	// The period ends today: the running bucket is drawn dashed on the trend, not as a cliff.
	if p := tb.eval(`document.querySelector('[data-card=trend] [data-partial]')?.dataset.partial`); p != "1" {
		t.Errorf("the overview trend marks %v partial buckets, want the running one (1)", p)
	}
	// Each rate on the trend has its 95% (Wilson) interval from the API drawn as a band.
	if b := tb.eval(`document.querySelector('[data-card=trend] [data-bands]')?.dataset.bands`); b != "4" {
		t.Errorf("the overview trend draws %v interval bands, want one per rate (4: lead conversion, win rate, adoption, compliance)", b)
	}
	tb.screenshot(art, "overview")

	// The business-unit filter lists the API's business units; choosing one (through the select, as a
	// user does) changes the numbers to the filtered API values and puts the filter in the URL.
	units := dimensionValues(t, base, scope, "BUSINESS_UNIT")
	options := tb.eval(`[...document.querySelectorAll('#f-business_unit option')].map(o => o.value).filter(Boolean)`)
	if fmt.Sprint(options) != fmt.Sprint(units) {
		t.Errorf("business unit filter offers %v, API has %v", options, units)
	}
	unit := units[0]
	tb.act(fmt.Sprintf(`(() => { const s = document.querySelector('#f-business_unit'); s.value = %q; s.dispatchEvent(new Event('change')); })()`, unit))
	if h := tb.eval(`location.hash`).(string); !strings.Contains(h, "business_unit="+unit) {
		t.Errorf("filter not in the URL: %s", h)
	}
	filtered := withFilter(tb.scope(), "business_unit", unit)
	after := checkOverview(t, tb, base, filtered)
	if slices.Equal(before, after) {
		t.Errorf("filtering on %s did not change any tile: %v", unit, after)
	}
	tb.screenshot(art, "overview-"+unit)
	// One unit's weekly rates rest on few cases: those points are drawn faint, as the API flags them.
	var low int
	for _, p := range at(graphql(t, base, `query($s: ScopeInput!) { leadConversion(scope: $s) { series { result { lowSample n } } } }`,
		map[string]any{"s": withGrain(withFilter(scope, "business_unit", unit), "WEEK")}), "leadConversion", "series").([]any) {
		if at(p, "result", "lowSample") == true && at(p, "result", "n").(float64) > 0 {
			low++
		}
	}
	if n := tb.eval(`document.querySelector('[data-card=trend] [data-low-sample]')?.dataset.lowSample ?? '0'`); low > 0 && n == "0" {
		t.Errorf("%d weekly lead-conversion values of %s are low-sample, the trend marks none", low, unit)
	}

	// A tablet in portrait: one column, nothing wider than the screen.
	tb.do(chromedp.EmulateViewport(tabletWidth, tabletHeight))
	tb.act(`new Promise(r => setTimeout(r, 300))`)
	if over := tb.eval(`document.documentElement.scrollWidth - document.documentElement.clientWidth`); over.(float64) > 0 {
		t.Errorf("tablet layout overflows horizontally by %vpx", over)
	}
	// Every page stays reachable from the nav at tablet width (none scrolled out of sight).
	if hidden := tb.eval(`[...document.querySelectorAll('nav a')].filter(a => { const r = a.getBoundingClientRect(); return r.width === 0 || r.right > innerWidth || r.left < 0; }).map(a => a.dataset.page)`); len(hidden.([]any)) > 0 {
		t.Errorf("at tablet width the nav hides %v", hidden)
	}
	tb.screenshot(art, "overview-tablet")
	tb.do(chromedp.EmulateViewport(width, height))

	// Printing: the print stylesheet hides the controls and spells out the filters.
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	if head := tb.text(`.print-head`); !strings.Contains(head, "Business unit: "+unit) || tb.eval(`getComputedStyle(document.querySelector('.filters')).display`) != "none" {
		t.Errorf("print layout: header %q, filters display %v", head, tb.eval(`getComputedStyle(document.querySelector('.filters')).display`))
	}
	tb.screenshot(art, "overview-print-media")
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: ""}); err != nil {
		t.Fatal(err)
	}
	pdf, err := chromedp.Run(tb.ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFLandscape(), chromedp.PDFPrintBackground()))
	if err != nil || len(pdf) < 10_000 {
		t.Errorf("print to PDF: %d bytes, %v", len(pdf), err)
	} else {
		t.Logf("print layout: %s", save(t, art, "overview-print.pdf", pdf))
	}

	// New data: when health.dataVersion changes the app reloads the filter values and the page.
	n0, _ := tb.requests()
	r0 := tb.rendered()
	tb.eval(`window.__ltc.forgetDataVersion()`)
	tb.eval(`window.__ltc.poll()`)
	tb.waitRendered(r0)
	if n, _ := tb.requests(); n-n0 != 3 {
		t.Errorf("refresh on new data made %d GraphQL requests, want 3 (version, boot, page)", n-n0)
	}
	if b := tb.text(`.banner`); !strings.Contains(b, "New data") {
		t.Errorf("no new-data banner: %q", b)
	}
	n0, _ = tb.requests()
	r0 = tb.rendered()
	tb.eval(`window.__ltc.poll()`)
	if n, _ := tb.requests(); n-n0 != 1 || tb.rendered() != r0 {
		t.Errorf("a poll without new data made %d requests and %d renders, want 1 and 0", n-n0, tb.rendered()-r0)
	}
	tb.noConsoleErrors()
}

// checkOverview compares the tiles and the bottleneck sentence with the API; it returns the tile texts.
func checkOverview(t *testing.T, tb *tab, base string, scope map[string]any) []string {
	t.Helper()
	want := graphql(t, base, overviewQuery, map[string]any{"s": scope})
	var got []string
	for _, tl := range overviewTiles {
		v := at(want, tl.path...)
		value := tb.text(fmt.Sprintf(`[data-card=headline] [data-kpi=%s] .tile-value`, tl.key))
		prev := tb.text(fmt.Sprintf(`[data-card=headline] [data-kpi=%s] .tile-prev`, tl.key))
		if w := kpiText(v, tl.unit, "value"); value != w {
			t.Errorf("%s tile shows %q, API gives %q (%v)", tl.key, value, w, v)
		}
		if w := "prev. " + kpiText(v, tl.unit, "previous"); prev != w {
			t.Errorf("%s tile shows %q, API gives %q", tl.key, prev, w)
		}
		got = append(got, value, prev)
	}
	if b, ok := at(want, "valueStream", "total", "bottleneck").(string); ok && b != "" {
		share := 0.0
		for _, s := range at(want, "valueStream", "total", "stages").([]any) {
			if at(s, "stage") == b {
				share = at(s, "share", "value").(float64)
			}
		}
		if got, w := tb.text(`[data-card=bottleneck] .callout`), bottleneckSentence(b, share); got != w {
			t.Errorf("bottleneck sentence %q, API gives %q", got, w)
		}
	}
	return got
}

// --- funnel ---------------------------------------------------------------------------------------

const funnelQuery = `query($s: ScopeInput!, $g: ScopeInput!) {
  funnel(scope: $s) { total { stages { stage reached { value } fromPrevious { value } fromTop { value } } } }
  byGroup: funnel(scope: $g) { groups { key { value } result { stages { reached { value } } } } }
}`

func testFunnel(t *testing.T, browser context.Context, base, art string) {
	tb := openTab(t, browser, base, width, height)
	tb.load("#/funnel?period=12m")
	scope := tb.scope()
	if d := scopeDays(t, scope); d < 365 || d > 366 {
		t.Errorf("12-month preset covers %v days", d)
	}
	before := checkFunnel(t, tb, base, scope, "BUSINESS_UNIT")
	tb.noCardErrors()
	checkMaturity(t, tb, base)
	tb.screenshot(art, "funnel")

	// Side by side by region instead of business unit.
	tb.click(`button[data-by=region]`)
	if h := tb.eval(`location.hash`).(string); !strings.Contains(h, "by=region") {
		t.Errorf("breakdown not in the URL: %s", h)
	}
	checkFunnel(t, tb, base, scope, "REGION")
	tb.screenshot(art, "funnel-by-region")

	unit := dimensionValues(t, base, scope, "BUSINESS_UNIT")[0]
	tb.navigate("#/funnel?period=12m&by=region&business_unit=" + unit)
	after := checkFunnel(t, tb, base, withFilter(tb.scope(), "business_unit", unit), "REGION")
	if slices.Equal(before, after) {
		t.Errorf("filtering on %s did not change the stage reach: %v", unit, after)
	}
	tb.noConsoleErrors()
}

// checkFunnel compares the stage reach table and the groups of the side-by-side table with the
// API; it returns the reach column.
func checkFunnel(t *testing.T, tb *tab, base string, scope map[string]any, by string) []string {
	t.Helper()
	g := withGroupBy(scope, by)
	want := graphql(t, base, funnelQuery, map[string]any{"s": scope, "g": g})
	var reach []string
	for _, s := range at(want, "funnel", "total", "stages").([]any) {
		st := at(s, "stage").(string)
		row := tb.cells(fmt.Sprintf(`[data-card=reach] tr[data-stage=%s]`, st))
		w := []string{stageLabel(st), count(at(s, "reached", "value").(float64)), pct(at(s, "fromPrevious", "value").(float64)), pct(at(s, "fromTop", "value").(float64))}
		if len(row) < 4 || !slices.Equal(row[:4], w) {
			t.Errorf("funnel row %s: page %q, API %q", st, row, w)
		}
		reach = append(reach, w[1])
	}
	var groups []string
	for _, gr := range at(want, "byGroup", "groups").([]any) {
		if at(gr, "result", "stages", 0, "reached", "value").(float64) > 0 {
			groups = append(groups, groupName(at(gr, "key", 0, "value").(string)))
		}
	}
	head := tb.eval(`[...document.querySelectorAll('[data-card=step-conversion] th')].map(th => th.textContent)`)
	if fmt.Sprint(head) != fmt.Sprint(append([]string{"Stage"}, groups...)) {
		t.Errorf("side by side by %s shows %v, API groups %v", by, head, groups)
	}
	return reach
}

// checkMaturity: the funnel says, beside its previous-period comparisons, that reach and lead
// conversion are still maturing, in the catalog's words; win rate, final once closed, does not.
func checkMaturity(t *testing.T, tb *tab, base string) {
	t.Helper()
	note := map[string]string{}
	for _, k := range at(graphql(t, base, `{ catalog { kpis { name maturity } } }`, nil), "catalog", "kpis").([]any) {
		if m, ok := at(k, "maturity").(string); ok {
			note[at(k, "name").(string)] = m
		}
	}
	if note["stage_reached"] == "" || note["lead_conversion"] == "" || note["win_rate"] != "" {
		t.Fatalf("catalog maturity notes: %v", note)
	}
	// The reach table's previous-period column is marked and the note follows the table.
	head := tb.eval(`[...document.querySelectorAll('[data-card=reach] th')].map(th => th.textContent).pop()`)
	after := tb.eval(`document.querySelector('[data-card=reach] .table-wrap').nextElementSibling?.textContent ?? ''`).(string)
	if head != "Prev. period †" || !strings.HasPrefix(after, "† ") || !strings.Contains(after, note["stage_reached"][1:]) {
		t.Errorf("funnel reach: previous-period column %q, then %q; want it marked and followed by %q", head, after, note["stage_reached"])
	}
	// The tiles: a maturing KPI's comparison carries the note, a final one's does not.
	for key, kpi := range map[string]string{"leadConversion": "lead_conversion", "winRate": "win_rate"} {
		m := tb.eval(fmt.Sprintf(`document.querySelector('[data-card=conversion] [data-kpi=%s] .tile-meta + .maturity')?.title ?? ''`, key)).(string)
		if want := note[kpi]; (want == "") != (m == "") || (want != "" && !strings.Contains(m, want[1:])) {
			t.Errorf("%s tile: maturity note %q beside its comparison, catalog %q", key, m, want)
		}
	}
}

// --- value stream ---------------------------------------------------------------------------------

const valueStreamQuery = `query($s: ScopeInput!) {
  valueStream(scope: $s) { total { bottleneck cases { value } stages { stage share { value } } } }
  variants(scope: $s, top: 10) { top { cases } }
}`

func testValueStream(t *testing.T, browser context.Context, base, art string) {
	tb := openTab(t, browser, base, width, height)
	tb.load("#/valuestream?period=12m")
	scope := tb.scope()
	before := checkValueStream(t, tb, base, scope)
	tb.noCardErrors()
	tb.screenshot(art, "valuestream")
	unit := dimensionValues(t, base, scope, "BUSINESS_UNIT")[0]
	tb.navigate("#/valuestream?period=12m&business_unit=" + unit)
	after := checkValueStream(t, tb, base, withFilter(tb.scope(), "business_unit", unit))
	if slices.Equal(before, after) {
		t.Errorf("filtering on %s did not change the time shares: %v", unit, after)
	}
	tb.noConsoleErrors()
}

func checkValueStream(t *testing.T, tb *tab, base string, scope map[string]any) []string {
	t.Helper()
	want := graphql(t, base, valueStreamQuery, map[string]any{"s": scope})
	b, _ := at(want, "valueStream", "total", "bottleneck").(string)
	if b == "" {
		t.Fatalf("the demo has no bottleneck in %v", scope)
	}
	var shares []string
	for _, s := range at(want, "valueStream", "total", "stages").([]any) {
		st := at(s, "stage").(string)
		share := at(s, "share", "value").(float64)
		row := tb.cells(fmt.Sprintf(`[data-card=stages] tr[data-stage=%s]`, st))
		if len(row) < 2 || row[1] != pct(share) {
			t.Errorf("stage %s share: page %q, API %s", st, row, pct(share))
		}
		if st == b {
			if got, w := tb.text(`[data-card=headline] .callout`), bottleneckSentence(b, share); got != w {
				t.Errorf("bottleneck sentence %q, API gives %q", got, w)
			}
			if cls := tb.eval(fmt.Sprintf(`document.querySelector('[data-card=stages] tr[data-stage=%s]').className`, st)); !strings.Contains(fmt.Sprint(cls), "hl") {
				t.Errorf("bottleneck row %s is not highlighted", st)
			}
		}
		shares = append(shares, pct(share))
	}
	if rows, w := tb.eval(`document.querySelectorAll('[data-card=variants] tbody tr').length`), len(at(want, "variants", "top").([]any)); rows.(float64) != float64(w) {
		t.Errorf("variants table has %v rows, API %d", rows, w)
	}
	return shares
}

// --- adoption & compliance ------------------------------------------------------------------------

const adoptionQuery = `query($s: ScopeInput!) {
  adoption(scope: $s) { total { rate { ...V } coverage { ...V } template { ...V } ironTriangle { ...V } } }
  compliance(scope: $s) { total { rate { ...V } promiseKept { ...V } gates { gate entered { value } rate { value } } } }
  violations(scope: $s, first: 25) { nodes { caseId } }
}
fragment V on KpiValue { value previous n previousN }`

var adoptionTiles = []struct {
	key  string
	path []any
}{
	{"adoptionRate", []any{"adoption", "total", "rate"}},
	{"coverage", []any{"adoption", "total", "coverage"}},
	{"template", []any{"adoption", "total", "template"}},
	{"ironTriangle", []any{"adoption", "total", "ironTriangle"}},
	{"complianceRate", []any{"compliance", "total", "rate"}},
	{"promiseKept", []any{"compliance", "total", "promiseKept"}},
}

func testAdoption(t *testing.T, browser context.Context, base, art string) {
	tb := openTab(t, browser, base, width, height)
	tb.load("#/adoption?period=12m")
	scope := tb.scope()
	before, violations := checkAdoption(t, tb, base, scope)
	tb.noCardErrors()
	if n := tb.eval(`document.querySelectorAll('[data-card=adoption-trend] canvas, [data-card=compliance-trend] canvas').length`); n.(float64) < 2 {
		t.Errorf("adoption and compliance over time: %v charts", n)
	}
	tb.screenshot(art, "adoption")
	// The by-unit change columns compare with the previous period: both KPIs are still maturing
	// (catalog), so both columns are marked and their notes follow the table.
	if got := tb.eval(`[...document.querySelectorAll('[data-card=by-unit] th')].map(th => th.textContent).join('|')`); got != "Business unit|Adoption †|Compliance ‡" {
		t.Errorf("by-unit headers %q, want the maturing columns marked", got)
	}
	if got := tb.eval(`[...document.querySelectorAll('[data-card=by-unit] [data-testid=maturity]')].map(p => p.textContent.slice(0, 2)).join('')`); got != "† ‡ " {
		t.Errorf("by-unit maturity notes %q, want † and ‡", got)
	}
	// Each unit's trend draws its rates' 95% intervals as bands.
	if b := tb.eval(`document.querySelector('[data-card=adoption-trend] [data-bands]')?.dataset.bands ?? '0'`); b == "0" {
		t.Errorf("adoption by unit over time draws no interval band")
	}

	// Drill down: a violation opens its case timeline, one event per item.
	if len(violations) == 0 {
		t.Fatal("the demo has no violations in the last 12 months")
	}
	id := violations[0]
	tb.click(fmt.Sprintf(`tr[data-case=%q]`, id))
	if h := tb.eval(`location.hash`).(string); !strings.Contains(h, "case="+id) {
		t.Errorf("drill-down not in the URL: %s", h)
	}
	tb.poll(`document.querySelector('#case-panel[data-state=ready]') !== null`)
	events := graphql(t, base, `query($id: ID!) { caseTimeline(caseId: $id) { stage } }`, map[string]any{"id": id})
	if n, w := tb.eval(`document.querySelectorAll('#case-panel .timeline li').length`), len(at(events, "caseTimeline").([]any)); n.(float64) != float64(w) || w == 0 {
		t.Errorf("timeline of %s shows %v events, API %d", id, n, w)
	}
	// The violation is marked: the guarded stage's entry at the violation's time, not the gate.
	v0 := at(graphql(t, base, `query($s: ScopeInput!) { violations(scope: $s, first: 1) { nodes { gate enteredAt } } }`, map[string]any{"s": scope}), "violations", "nodes").([]any)[0]
	marked := tb.eval(`[...document.querySelectorAll('#case-panel .timeline li.violating')].map(li => [li.dataset.stage, li.querySelector('time').textContent])`).([]any)
	if len(marked) == 0 {
		t.Errorf("the timeline of %s marks no violating event", id)
	}
	for _, m := range marked {
		if st := m.([]any)[0]; st == at(v0, "gate") || st == "" {
			t.Errorf("the violating event marked is %v, want the guarded stage's entry at %v", m, at(v0, "enteredAt"))
		}
	}
	tb.screenshot(art, "adoption-case")
	tb.act(`document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}))`)
	tb.poll(`document.querySelector('#case-panel') === null`)

	// Sortable: the Kind header orders the list as the API does for KIND ascending.
	tb.click(`[data-card=violations] button[data-sort=KIND]`)
	if h := tb.eval(`location.hash`).(string); !strings.Contains(h, "vsort=KIND") || !strings.Contains(h, "vdir=ASC") {
		t.Errorf("sorting by kind gave %s", h)
	}
	var byKind []string
	for _, v := range at(graphql(t, base, `query($s: ScopeInput!) { violations(scope: $s, first: 25, orderBy: KIND, direction: ASC) { nodes { caseId } } }`, map[string]any{"s": scope}), "violations", "nodes").([]any) {
		byKind = append(byKind, at(v, "caseId").(string))
	}
	if shown := tb.eval(`[...document.querySelectorAll('[data-card=violations] tbody tr')].map(tr => tr.dataset.case)`); fmt.Sprint(shown) != fmt.Sprint(byKind) {
		t.Errorf("violations sorted by kind: page %v, API %v", shown, byKind)
	}
	if s := tb.eval(`document.querySelector('[data-card=violations] th[aria-sort=ascending] button')?.dataset.sort`); s != "KIND" {
		t.Errorf("the ascending column is %v, want KIND", s)
	}
	tb.navigate("#/adoption?period=12m")

	unit := dimensionValues(t, base, scope, "BUSINESS_UNIT")[0]
	tb.navigate("#/adoption?period=12m&business_unit=" + unit)
	after, _ := checkAdoption(t, tb, base, withFilter(tb.scope(), "business_unit", unit))
	if slices.Equal(before, after) {
		t.Errorf("filtering on %s did not change adoption or compliance: %v", unit, after)
	}
	tb.noConsoleErrors()
}

// checkAdoption compares tiles, per-gate compliance and the violation list with the API; it
// returns the tile texts and the violations' case ids.
func checkAdoption(t *testing.T, tb *tab, base string, scope map[string]any) ([]string, []string) {
	t.Helper()
	want := graphql(t, base, adoptionQuery, map[string]any{"s": scope})
	var got []string
	for _, tl := range adoptionTiles {
		v := at(want, tl.path...)
		text := tb.text(fmt.Sprintf(`[data-card=headline] [data-kpi=%s] .tile-value`, tl.key))
		if w := kpiText(v, "ratio", "value"); text != w {
			t.Errorf("%s tile shows %q, API gives %q", tl.key, text, w)
		}
		got = append(got, text)
	}
	for _, g := range at(want, "compliance", "total", "gates").([]any) {
		if at(g, "entered", "value").(float64) == 0 {
			continue
		}
		gate := at(g, "gate").(string)
		row := tb.cells(fmt.Sprintf(`[data-card=gates] tr[data-gate=%s]`, gate))
		if w := pct(at(g, "rate", "value").(float64)); len(row) < 4 || row[3] != w {
			t.Errorf("gate %s: page %q, API rate %s", gate, row, w)
		}
	}
	var ids []string
	for _, v := range at(want, "violations", "nodes").([]any) {
		ids = append(ids, at(v, "caseId").(string))
	}
	if shown := tb.eval(`[...document.querySelectorAll('[data-card=violations] tbody tr')].map(tr => tr.dataset.case)`); fmt.Sprint(shown) != fmt.Sprint(ids) {
		t.Errorf("violation list %v, API %v", shown, ids)
	}
	return got, ids
}

// --- cash -----------------------------------------------------------------------------------------

const cashQuery = `query($s: ScopeInput!) {
  cash(scope: $s) { total { billed { ...V } collected { ...V } receivables { ...V } overdueShare { ...V } dsoDays { ...V } collectionRate { ...V }
    ageing { notDue { ...V } pastDue0To30 { ...V } pastDue31To60 { ...V } pastDue61To90 { ...V } pastDueOver90 { ...V } } } }
}
fragment V on KpiValue { value previous n previousN }`

var cashTiles = []struct{ key, field, unit string }{
	{"billed", "billed", "money"}, {"collected", "collected", "money"}, {"receivables", "receivables", "money"},
	{"overdueShare", "overdueShare", "ratio"}, {"dso", "dsoDays", "days"}, {"collectionRate", "collectionRate", "ratio"},
}

func testCash(t *testing.T, browser context.Context, base, art string) {
	tb := openTab(t, browser, base, width, height)
	tb.load("#/cash?period=12m")
	scope := tb.scope()
	before := checkCash(t, tb, base, scope)
	tb.noCardErrors()
	if n := tb.eval(`document.querySelectorAll('#page .card canvas').length`); n.(float64) < 5 {
		t.Errorf("cash page draws %v canvases", n)
	}
	// The period ends today: the running week is drawn dashed on the DSO trend, not as a cliff.
	if p := tb.eval(`document.querySelector('[data-card=dso-trend] [data-partial]')?.dataset.partial`); p != "1" {
		t.Errorf("DSO trend marks %v partial buckets, want the running week (1)", p)
	}
	if d := tb.text(`[data-card=headline] .kpi-defs`); !strings.Contains(d, "Collection rate") || !strings.Contains(d, "paid so far") {
		t.Errorf("the cash page does not define collection rate: %q", d)
	}
	tb.screenshot(art, "cash")
	unit := dimensionValues(t, base, scope, "BUSINESS_UNIT")[0]
	tb.navigate("#/cash?period=12m&business_unit=" + unit)
	after := checkCash(t, tb, base, withFilter(tb.scope(), "business_unit", unit))
	if slices.Equal(before, after) {
		t.Errorf("filtering on %s did not change the cash tiles: %v", unit, after)
	}
	tb.noConsoleErrors()
}

func checkCash(t *testing.T, tb *tab, base string, scope map[string]any) []string {
	t.Helper()
	want := graphql(t, base, cashQuery, map[string]any{"s": scope})
	var got []string
	for _, tl := range cashTiles {
		v := at(want, "cash", "total", tl.field)
		text := tb.text(fmt.Sprintf(`[data-card=headline] [data-kpi=%s] .tile-value`, tl.key))
		if w := kpiText(v, tl.unit, "value"); text != w {
			t.Errorf("%s tile shows %q, API gives %q", tl.key, text, w)
		}
		got = append(got, text)
	}
	// The ageing table shows the API's buckets, which add up to the receivables.
	sum := 0.0
	for _, b := range []string{"notDue", "pastDue0To30", "pastDue31To60", "pastDue61To90", "pastDueOver90"} {
		v := at(want, "cash", "total", "ageing", b)
		sum += at(v, "value").(float64)
		if text, w := tb.text(fmt.Sprintf(`[data-card=headline] [data-ageing=%s] td:nth-child(2)`, b)), money(at(v, "value").(float64)); text != w {
			t.Errorf("ageing %s shows %q, API gives %q", b, text, w)
		}
	}
	if ar := at(want, "cash", "total", "receivables", "value").(float64); math.Abs(sum-ar) > 1e-6*math.Max(1, math.Abs(ar)) {
		t.Errorf("ageing buckets sum to %v, receivables are %v", sum, ar)
	}
	return got
}

// --- diagnosis ------------------------------------------------------------------------------------

const diagnosisQuery = `query($s: ScopeInput!) {
  diagnosis(scope: $s) {
    bottleneck bottleneckShare leadConversion { ...V } wonValue { ...V } valueStream { cycle }
    stageOpportunities { rank stage share cases medianDays }
    gateOpportunities { rank gate }
    cost { perLead perWonDeal }
  }
}
fragment V on KpiValue { value previous n previousN }`

func testDiagnosis(t *testing.T, browser context.Context, base, art string) {
	tb := openTab(t, browser, base, width, height)
	// Without a period in the link, the diagnosis covers the baseline of the initiative that started
	// last (the demo's pilot).
	var latest map[string]any
	for _, i := range at(graphql(t, base, `{ initiatives { start baselineFrom baselineTo } }`, nil), "initiatives").([]any) {
		if s := at(i, "start").(string); s <= time.Now().UTC().Format(time.RFC3339) && (latest == nil || s > latest["start"].(string)) {
			latest = i.(map[string]any)
		}
	}
	if latest == nil {
		t.Fatal("the demo has no started initiative")
	}
	tb.load("#/diagnosis")
	bf, _ := time.Parse(time.RFC3339, latest["baselineFrom"].(string))
	bt, _ := time.Parse(time.RFC3339, latest["baselineTo"].(string))
	if h, w := tb.eval(`location.hash`).(string), fmt.Sprintf("period=custom&from=%s&to=%s", bf.Format(time.DateOnly), bt.AddDate(0, 0, -1).Format(time.DateOnly)); !strings.Contains(h, w) {
		t.Errorf("the diagnosis opens on %s, want the pilot's baseline (%s)", h, w)
	}
	tb.load("#/diagnosis?period=12m")
	scope := tb.scope()
	before := checkDiagnosis(t, tb, base, scope)
	tb.noCardErrors()
	tb.screenshot(art, "diagnosis")

	// Printable as a report: controls hidden, the scope spelled out, every card on paper.
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	if head := tb.text(`.print-head`); !strings.HasPrefix(head, "Diagnosis — Last 12 months") {
		t.Errorf("print header %q", head)
	}
	if n := tb.eval(`[...document.querySelectorAll('#page .card')].filter(c => getComputedStyle(c).display !== 'none').length`); n.(float64) < 6 {
		t.Errorf("print shows %v cards", n)
	}
	// The plain-text report card is on paper without being opened on screen.
	if h := tb.eval(`document.querySelector('[data-testid=report-print]')?.getBoundingClientRect().height ?? 0`); h.(float64) < 50 {
		t.Errorf("the printed report's text card is %vpx high", h)
	}
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: ""}); err != nil {
		t.Fatal(err)
	}
	pdf, err := chromedp.Run(tb.ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFPrintBackground()))
	if err != nil || len(pdf) < 10_000 {
		t.Errorf("print to PDF: %d bytes, %v", len(pdf), err)
	} else {
		t.Logf("diagnosis report: %s", save(t, art, "diagnosis.pdf", pdf))
	}

	unit := dimensionValues(t, base, scope, "BUSINESS_UNIT")[0]
	tb.navigate("#/diagnosis?period=12m&business_unit=" + unit)
	after := checkDiagnosis(t, tb, base, withFilter(tb.scope(), "business_unit", unit))
	if slices.Equal(before, after) {
		t.Errorf("filtering on %s did not change the diagnosis: %v", unit, after)
	}
	tb.noConsoleErrors()
}

// checkDiagnosis compares the top opportunity, the ranking, the bottleneck and the baseline tiles
// with the API; it returns what it compared.
func checkDiagnosis(t *testing.T, tb *tab, base string, scope map[string]any) []string {
	t.Helper()
	want := graphql(t, base, diagnosisQuery, map[string]any{"s": scope})
	d := at(want, "diagnosis")
	ops := at(d, "stageOpportunities").([]any)
	if len(ops) == 0 {
		t.Fatalf("the demo has no improvement opportunity in %v", scope)
	}
	top := ops[0]
	w := opportunitySentence(at(top, "stage").(string), at(top, "share").(float64), at(top, "cases").(float64), at(top, "medianDays").(float64))
	if got := tb.text(`[data-card=opportunities] .callout`); got != w {
		t.Errorf("top opportunity %q, API gives %q", got, w)
	}
	var ranks []string
	for _, o := range ops {
		ranks = append(ranks, at(o, "stage").(string))
	}
	if shown := tb.eval(`[...document.querySelectorAll('[data-card=opportunities] tbody tr')].map(tr => tr.dataset.stage)`); fmt.Sprint(shown) != fmt.Sprint(ranks) {
		t.Errorf("stage ranking %v, API %v", shown, ranks)
	}
	var gates []string
	for _, g := range at(d, "gateOpportunities").([]any) {
		gates = append(gates, at(g, "gate").(string))
	}
	if shown := tb.eval(`[...document.querySelectorAll('[data-card=gate-opportunities] tbody tr')].map(tr => tr.dataset.gate)`); len(gates) > 0 && fmt.Sprint(shown) != fmt.Sprint(gates) {
		t.Errorf("gate ranking %v, API %v", shown, gates)
	}
	if b, _ := at(d, "bottleneck").(string); b != "" {
		cyc := strings.ReplaceAll(strings.ToLower(at(d, "valueStream", "cycle").(string)), "_", "-")
		if got, w := tb.text(`[data-card=baseline] .callout`), cycleBottleneckSentence(b, at(d, "bottleneckShare").(float64), cyc); got != w {
			t.Errorf("bottleneck sentence %q, API gives %q", got, w)
		}
	}
	lc := tb.text(`[data-card=baseline] [data-kpi=leadConversion] .tile-value`)
	if w := kpiText(at(d, "leadConversion"), "ratio", "value"); lc != w {
		t.Errorf("lead conversion tile %q, API %q", lc, w)
	}
	perLead := tb.text(`[data-card=cost] [data-kpi=perLead] .tile-value`)
	if p, ok := at(d, "cost", "perLead").(float64); ok && perLead != money(p) {
		t.Errorf("cost per lead %q, API %s", perLead, money(p))
	}
	return append([]string{lc, perLead}, ranks...)
}

// --- initiative -----------------------------------------------------------------------------------

const initiativeQuery = `query($id: ID!) {
  pilotReport(id: $id) { kpi baseline { value n } pilot { value n } significance { p significant } sprints { sprint } }
  rollout(id: $id) { behind units { businessUnit status behind } }
}`

// testInitiative opens the demo's pilot (the only initiative, so the default): the lead-conversion
// lift is shown with the API's p-value and marked significant, the rollout flags the units behind
// plan as the API does, and switching the sprint chart's KPI needs no request.
func testInitiative(t *testing.T, browser context.Context, base, art string) {
	tb := openTab(t, browser, base, width, height)
	tb.load("#/initiative")
	want := graphql(t, base, initiativeQuery, map[string]any{"id": "north-pilot"})
	if v := tb.eval(`document.querySelector('#f-initiative').value`); v != "north-pilot" {
		t.Errorf("default initiative %v, want north-pilot", v)
	}
	var lc any
	for _, r := range at(want, "pilotReport").([]any) {
		row := fmt.Sprintf(`[data-card=pilot] tr[data-kpi=%s]`, at(r, "kpi"))
		if tb.eval(fmt.Sprintf(`document.querySelector(%q) !== null`, row)) != true {
			t.Errorf("no pilot-vs-baseline row for %s", at(r, "kpi"))
		}
		if at(r, "kpi") == "LEAD_CONVERSION" {
			lc = r
		}
	}
	p, _ := at(lc, "significance", "p").(float64)
	if sig, _ := at(lc, "significance", "significant").(bool); !sig || p >= 0.01 {
		t.Fatalf("the demo pilot's lead conversion is not significant at 1%%: %v", lc)
	}
	const sel = `[data-card=pilot] tr[data-kpi=LEAD_CONVERSION]`
	cells := tb.cells(sel)
	w := []string{"Lead conversion", pct(at(lc, "baseline", "value").(float64)), count(at(lc, "baseline", "n").(float64)),
		pct(at(lc, "pilot", "value").(float64)), count(at(lc, "pilot", "n").(float64))}
	if len(cells) < 8 || !slices.Equal(cells[:5], w) {
		t.Errorf("lead conversion row %q, API %q", cells, w)
	}
	if got, w := tb.text(sel+` .sig`), significanceText(p, true); got != w {
		t.Errorf("significance shown %q, API gives %q", got, w)
	}
	if got := tb.eval(`Number(document.querySelector('` + sel + ` .sig').dataset.p)`); got != p {
		t.Errorf("p-value on the page %v, API %v", got, p)
	}
	if !strings.HasPrefix(tb.text(`[data-card=definition] .callout`), "Lead conversion: ") {
		t.Errorf("headline %q", tb.text(`[data-card=definition] .callout`))
	}

	// The rollout: one row per unit, the API's status, behind-plan units highlighted.
	for _, u := range at(want, "rollout", "units").([]any) {
		name := at(u, "businessUnit").(string)
		got := tb.eval(fmt.Sprintf(`(() => { const r = document.querySelector('[data-card=rollout] tr[data-unit=%q]'); return r ? r.dataset.status + ' ' + r.classList.contains('hl') : null; })()`, name))
		if w := fmt.Sprintf("%s %v", at(u, "status"), at(u, "behind")); got != w {
			t.Errorf("rollout row %s: %v, API %s", name, got, w)
		}
	}

	// The sprint chart: one CSV row per sprint; another KPI is a redraw, not a request.
	sprints := len(at(lc, "sprints").([]any))
	if csv := tb.eval(`window.__ltc.csv('sprints')`); csv == nil || strings.Count(csv.(string), "\n") != sprints+1 {
		t.Errorf("sprint CSV for %d sprints: %v", sprints, csv)
	}
	if n := tb.eval(`document.querySelectorAll('[data-card=sprints] canvas, [data-card=rollout] canvas').length`); n.(float64) < 2 {
		t.Errorf("initiative page draws %v charts", n)
	}
	tb.noCardErrors()
	tb.screenshot(art, "initiative")
	n0, _ := tb.requests()
	tb.click(`[data-card=sprints] button[data-kpi=SALES_CYCLE]`)
	if n, _ := tb.requests(); n != n0 {
		t.Errorf("switching the sprint chart's KPI made %d requests", n-n0)
	}
	if h := tb.eval(`location.hash`).(string); !strings.Contains(h, "kpi=SALES_CYCLE") {
		t.Errorf("KPI not in the URL: %s", h)
	}
	if csv := tb.eval(`window.__ltc.csv('sprints')`); csv == nil || !strings.Contains(csv.(string), "sprint,from,to") {
		t.Errorf("sales-cycle sprint CSV: %v", csv)
	}
	tb.screenshot(art, "initiative-sales-cycle")

	// A deep link to an unknown initiative fails in its cards, not in the app.
	tb.navigate("#/initiative?id=no-such-initiative")
	if n := tb.eval(`document.querySelectorAll('#page [data-state=error]').length`); n.(float64) == 0 {
		t.Errorf("unknown initiative shows no error")
	}
	tb.mu.Lock()
	tb.errors = nil // the card errors are logged by the page (console.warn is fine; nothing else expected)
	tb.mu.Unlock()
	tb.noConsoleErrors()
}

// testOneBottleneck: over the same period, every page naming a bottleneck names the same stage,
// share and cycle (Overview, Value stream and Diagnosis), and it is the sales cycle by default.
func testOneBottleneck(t *testing.T, browser context.Context, base string) {
	tb := openTab(t, browser, base, width, height)
	said := map[string]string{}
	for page, sel := range map[string]string{"overview": "[data-card=bottleneck] .callout", "valuestream": "[data-card=headline] .callout", "diagnosis": "[data-card=baseline] .callout"} {
		tb.navigate("#/" + page + "?period=12m")
		said[page] = tb.text(sel)
	}
	if said["overview"] == "" || said["overview"] != said["valuestream"] || said["overview"] != said["diagnosis"] || !strings.HasSuffix(said["overview"], "of the sales cycle.") {
		t.Errorf("the pages name different bottlenecks over the last 12 months: %q", said)
	}
}

// --- empty state and budgets ----------------------------------------------------------------------

// testEmpty opens pages over a period without data: every card says so, none fails.
func testEmpty(t *testing.T, browser context.Context, base, art string) {
	tb := openTab(t, browser, base, width, height)
	for _, page := range pages {
		if page == "initiative" { // its windows come from the initiative, not the period
			continue
		}
		tb.navigate("#/" + page + "?period=custom&from=2001-01-01&to=2001-01-31")
		tb.noCardErrors()
		if n := tb.eval(`document.querySelectorAll('#page [data-state=empty]').length`); n.(float64) == 0 {
			t.Errorf("%s over an empty period shows no empty state", page)
		}
	}
	tb.screenshot(art, "empty")
	tb.noConsoleErrors()
}

// testError makes the API answer 503: the app says it cannot reach the data service and offers a
// retry, which works once the API is back.
func testError(t *testing.T, browser context.Context, base, art string) {
	tb := openTab(t, browser, base, width, height)
	down, up := context.WithCancel(tb.ctx)
	paused := chromedp.Events(down, fetch.RequestPaused)
	if _, err := chromedp.Call(tb.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/graphql"}}}); err != nil {
		t.Fatalf("intercept: %v", err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			chromedp.Call(tb.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: http.StatusServiceUnavailable,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/plain"}}, Body: []byte("maintenance"),
			})
		}
	}()
	tb.load("#/overview")
	if msg := tb.text(`.page-error`); !strings.Contains(msg, "cannot reach") || !strings.Contains(msg, "503") {
		t.Errorf("error state says %q", msg)
	}
	tb.screenshot(art, "error")
	up()
	if _, err := chromedp.Call(tb.ctx, fetch.Disable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	tb.mu.Lock()
	tb.errors = nil // the failed loads of the 503s, logged by the browser
	tb.mu.Unlock()
	tb.click(`.page-error button`)
	tb.noCardErrors()
	if n := tb.eval(`document.querySelectorAll('[data-card=headline] .tile').length`); n.(float64) != 6 {
		t.Errorf("after retry the overview shows %v tiles", n)
	}
	tb.noConsoleErrors()
}

// testBudget loads every page in a fresh tab and counts its GraphQL requests and the bytes of
// JavaScript and CSS transferred; then moves between pages inside the app.
func testBudget(t *testing.T, browser context.Context, base string) {
	for _, page := range pages {
		tb := openTab(t, browser, base, width, height)
		tb.load("#/" + page)
		n, bytes := tb.requests()
		t.Logf("%s: %d GraphQL requests on load, %d bytes of JS+CSS transferred, first chart after %v ms", page, n, bytes, tb.eval(`window.__ltc.firstChartMs`))
		if n > maxRequestsPerLoad {
			t.Errorf("%s: %d GraphQL requests on load, budget %d", page, n, maxRequestsPerLoad)
		}
		if bytes == 0 || bytes > maxTransferBytes {
			t.Errorf("%s: %d bytes of JS+CSS transferred, budget %d", page, bytes, maxTransferBytes)
		}
		for _, next := range pages {
			if next == page {
				continue
			}
			before, _ := tb.requests()
			tb.click(fmt.Sprintf(`nav a[data-page=%s]`, next))
			if n, _ := tb.requests(); n-before > maxRequestsPerNav {
				t.Errorf("%s → %s: %d GraphQL requests, budget %d", page, next, n-before, maxRequestsPerNav)
			}
			break
		}
		tb.noConsoleErrors()
	}
}

// --- the server and the browser -------------------------------------------------------------------

// startDemo runs `ltc demo` in-process on a free port and returns its base URL once it is ready.
func startDemo(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--dir", dir, "--size", size, "--listen", addr, "--log-level", "warn"}, &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Error("demo did not stop within a minute")
		}
	})
	base := "http://" + addr
	start := time.Now()
	for {
		if code, _ := get(t, base+"/readyz"); code == http.StatusOK {
			break
		}
		select {
		case c := <-done:
			t.Fatalf("demo exited early with %d:\n%s\n%s", c, stdout.String(), stderr.String())
		default:
		}
		if time.Since(start) > 10*time.Minute {
			t.Fatalf("demo not ready after 10 minutes:\n%s", stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%s demo ready in %v at %s", size, time.Since(start).Round(time.Millisecond), base)
	return base
}

// startBrowser starts headless Chromium with the flags it needs here (no sandbox as root, no
// background network traffic) and a fresh profile.
func startBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tab is one browser tab with what it saw: console errors, GraphQL requests, requests to other
// origins and the encoded size of the scripts and stylesheets it loaded.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu       sync.Mutex
	errors   []string
	graphql  int
	remote   []string
	assets   map[network.RequestID]bool
	assetLen int64
}

func openTab(t *testing.T, browser context.Context, base string, w, h int64) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
	})
	tb := &tab{t: t, ctx: ctx, base: base, assets: map[network.RequestID]bool{}}
	if err := chromedp.Listen(ctx, tb.observe); err != nil {
		t.Fatalf("listen: %v", err)
	}
	tb.do(chromedp.EmulateViewport(w, h))
	// Every tab loads like a first visit: the budget counts the bytes a new user downloads.
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatalf("disable cache: %v", err)
	}
	return tb
}

// observe runs on chromedp's event loop: record, never block.
func (tb *tab) observe(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		u := ev.Request.URL
		switch {
		case strings.HasPrefix(u, tb.base+"/graphql") && ev.Request.Method == http.MethodPost:
			tb.graphql++
		case strings.HasPrefix(u, tb.base+"/assets/"):
			tb.assets[ev.RequestID] = true
		case strings.HasPrefix(u, tb.base), strings.HasPrefix(u, "data:"), strings.HasPrefix(u, "blob:"), u == "about:blank":
		default:
			tb.remote = append(tb.remote, u)
		}
	case *network.EventLoadingFinished:
		if tb.assets[ev.RequestID] {
			tb.assetLen += int64(ev.EncodedDataLength)
		}
	}
	if m := consoleOf(ev); m != "" {
		tb.errors = append(tb.errors, m)
	}
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) and returns its JSON value.
func (tb *tab) eval(expr string) any {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[any](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// act runs JavaScript that changes the page and waits for the render it causes.
func (tb *tab) act(expr string) {
	tb.t.Helper()
	n := tb.rendered()
	tb.eval(expr)
	if strings.Contains(expr, "dispatchEvent(new Event('change'))") {
		tb.waitRendered(n)
	}
}

func (tb *tab) rendered() int {
	tb.t.Helper()
	v := tb.eval(`Number(document.body.dataset.rendered || 0)`)
	return int(v.(float64))
}

func (tb *tab) poll(expr string) {
	tb.t.Helper()
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(renderTimeout))); err != nil {
		tb.screenshotOnFailure()
		tb.t.Fatalf("waiting for %s: %v", expr, err)
	}
}

func (tb *tab) waitRendered(after int) {
	tb.t.Helper()
	tb.poll(fmt.Sprintf(`document.body.dataset.ready === 'true' && Number(document.body.dataset.rendered || 0) > %d`, after))
}

// load opens the app at a hash in a fresh document and waits until its page has rendered.
func (tb *tab) load(hash string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.base + "/" + hash))
	tb.waitRendered(0)
}

// navigate changes the hash inside the running app and waits for the new render.
func (tb *tab) navigate(hash string) {
	tb.t.Helper()
	if cur := tb.eval(`location.href`).(string); !strings.HasPrefix(cur, tb.base) {
		tb.load(hash)
		return
	}
	n := tb.rendered()
	tb.eval(fmt.Sprintf(`location.hash = %q`, hash))
	tb.waitRendered(n)
}

// click clicks an element and waits for the render it causes.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	n := tb.rendered()
	tb.eval(fmt.Sprintf(`document.querySelector(%q).click()`, sel))
	tb.waitRendered(n)
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	v := tb.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent ?? null`, sel))
	s, _ := v.(string)
	return s
}

// cells returns the text of each cell of the first row matching sel.
func (tb *tab) cells(sel string) []string {
	tb.t.Helper()
	v := tb.eval(fmt.Sprintf(`[...(document.querySelector(%q) || {cells: []}).cells].map(c => c.textContent)`, sel))
	var out []string
	for _, c := range v.([]any) {
		out = append(out, c.(string))
	}
	return out
}

// scope is the ScopeInput the page queries for (without grain or groupBy).
func (tb *tab) scope() map[string]any {
	tb.t.Helper()
	return tb.eval(`window.__ltc.scope()`).(map[string]any)
}

func (tb *tab) requests() (int, int64) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.graphql, tb.assetLen
}

func (tb *tab) noCardErrors() {
	tb.t.Helper()
	if v := tb.eval(`[...document.querySelectorAll('[data-state=error]')].map(e => (e.dataset.card || e.dataset.kpi || '') + ': ' + e.textContent)`); len(v.([]any)) > 0 {
		tb.t.Errorf("%s: cards in the error state: %v", tb.eval(`location.hash`), v)
	}
}

func (tb *tab) noConsoleErrors() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, e := range tb.errors {
		tb.t.Errorf("browser console: %s", e)
	}
	for _, u := range tb.remote {
		tb.t.Errorf("request to another origin: %s", u)
	}
	tb.errors, tb.remote = nil, nil
}

func (tb *tab) screenshot(dir, name string) {
	tb.t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	tb.t.Logf("screenshot: %s", save(tb.t, dir, name+".png", buf))
}

func (tb *tab) screenshotOnFailure() {
	if buf, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100)); err == nil {
		tb.t.Logf("screenshot at failure: %s", save(tb.t, artifactDir(tb.t), "failure.png", buf))
	}
}

// --- helpers --------------------------------------------------------------------------------------

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// artifactDir is where screenshots go: $LTC_UI_ARTIFACTS (kept) or the test's temp dir.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("LTC_UI_ARTIFACTS"); d != "" {
		d = filepath.Join(d, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(d, 0o755); err == nil {
			return d
		}
	}
	return t.TempDir()
}

func save(t *testing.T, dir, name string, b []byte) string {
	p := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Errorf("save %s: %v", p, err)
	}
	return p
}

// graphql runs a query against the server and returns its data; errors fail the test.
func graphql(t *testing.T, base, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, err := http.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Errors) > 0 || out.Data == nil {
		t.Fatalf("graphql %s: %s (%v)", strings.Fields(query)[0], raw, err)
	}
	return out.Data
}

// at walks a decoded JSON value by object keys and array indexes; nil when a step is missing.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func copyScope(s map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range s {
		out[k] = v
	}
	return out
}

// withFilter returns scope s filtered to value of the dimension named name (FilterInput.name, as
// the dashboards send filters), replacing any filter on it.
func withFilter(s map[string]any, name, value string) map[string]any {
	out := copyScope(s)
	var fs []any
	if f, ok := s["filters"].([]any); ok {
		for _, x := range f {
			if at(x, "name") != name && at(x, "dimension") != strings.ToUpper(name) {
				fs = append(fs, x)
			}
		}
	}
	out["filters"] = append(fs, map[string]any{"name": name, "values": []string{value}})
	return out
}

func withGroupBy(s map[string]any, dim string) map[string]any {
	out := copyScope(s)
	out["groupBy"] = []string{dim}
	return out
}

func scopeDays(t *testing.T, s map[string]any) float64 {
	from, err1 := time.Parse(time.RFC3339, fmt.Sprint(s["from"]))
	to, err2 := time.Parse(time.RFC3339, fmt.Sprint(s["to"]))
	if err1 != nil || err2 != nil {
		t.Fatalf("scope %v", s)
	}
	return to.Sub(from).Hours() / 24
}

// dimensionValues lists a dimension's non-empty values among the scope's cases, as the filters do.
func dimensionValues(t *testing.T, base string, scope map[string]any, dim string) []string {
	t.Helper()
	d := graphql(t, base, `query($s: ScopeInput!) { funnel(scope: $s) { groups { key { value } } } }`,
		map[string]any{"s": map[string]any{"from": "2000-01-01T00:00:00Z", "to": scope["to"], "groupBy": []string{dim}}})
	var out []string
	for _, g := range at(d, "funnel", "groups").([]any) {
		if v := at(g, "key", 0, "value").(string); v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		t.Fatalf("no %s values in the demo", dim)
	}
	return out
}

// consoleOf describes an event that must not happen: a console.error, an uncaught exception or an
// error in the browser log (a CSP violation, a failed load); "" for anything else.
func consoleOf(ev any) string {
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			d += " " + ev.ExceptionDetails.Exception.Description
		}
		return "exception: " + d
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError {
			return "log: " + ev.Entry.Text + " " + ev.Entry.URL
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				if a.Description != "" {
					parts = append(parts, a.Description)
				} else {
					parts = append(parts, string(a.Value))
				}
			}
			return "console.error: " + strings.Join(parts, " ")
		}
	}
	return ""
}

// --- the page's number formatting, in Go (dashboards/web/src/format.js) ---------------------------

// toFixed is JavaScript's Number.prototype.toFixed: the exact decimal value rounded half up (the
// larger n on a tie), with "-0.0" shown as "0.0" as the page does.
func toFixed(v float64, d int) string {
	neg := v < 0
	exact := new(big.Float).SetFloat64(math.Abs(v)).Text('f', 1100)
	ip, frac, _ := strings.Cut(exact, ".")
	frac += strings.Repeat("0", d+1)
	digits, _ := new(big.Int).SetString(ip+frac[:d], 10)
	if frac[d] >= '5' {
		digits.Add(digits, big.NewInt(1))
	}
	s := digits.String()
	if d > 0 {
		if len(s) <= d {
			s = strings.Repeat("0", d-len(s)+1) + s
		}
		s = s[:len(s)-d] + "." + s[len(s)-d:]
	}
	if neg && strings.Trim(s, "0.") != "" {
		s = "-" + s
	}
	return s
}

func pct(v float64) string { return toFixed(v*100, 1) + "%" }

func days(v float64) string {
	d := 0
	if math.Abs(v) < 100 {
		d = 1
	}
	return toFixed(v, d) + " days"
}

func count(v float64) string {
	s := toFixed(v, 0)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func money(v float64) string {
	a := math.Abs(v)
	sign := ""
	if v < 0 && toFixed(a, 0) != "0" {
		sign = "-"
	}
	var s string
	switch {
	case a >= 1e9:
		s = toFixed(a/1e9, 1) + "B"
	case a >= 1e6:
		s = toFixed(a/1e6, 1) + "M"
	case a >= 1e3:
		s = toFixed(a/1e3, 1) + "k"
	default:
		s = toFixed(a, 0)
	}
	return sign + "€" + s
}

// kpiText formats a KpiValue side as a tile does: "—" when it is computed over nothing.
func kpiText(v any, unit, side string) string {
	n := "n"
	if side == "previous" {
		n = "previousN"
	}
	if f, _ := at(v, n).(float64); f <= 0 {
		return "—"
	}
	x := at(v, side).(float64)
	switch unit {
	case "ratio":
		return pct(x)
	case "days":
		return days(x)
	case "money":
		return money(x)
	default:
		return count(x)
	}
}

func stageLabel(id string) string {
	s := strings.ReplaceAll(id, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

func groupName(v string) string {
	if v == "" {
		return "(not set)"
	}
	return v
}

// bottleneckSentence mirrors pages/valuestream.js: the valueStream field measures the sales cycle
// by default, and so does the diagnosis.
func bottleneckSentence(stage string, share float64) string {
	return cycleBottleneckSentence(stage, share, "sales")
}

func cycleBottleneckSentence(stage string, share float64, cycle string) string {
	return stageLabel(stage) + " takes " + pct(share) + " of the " + cycle + " cycle."
}

// significanceText mirrors format.js significance().
func significanceText(p float64, significant bool) string {
	ps := "p = " + toFixed(p, 4)
	if p < 0.0001 {
		ps = "p < 0.0001"
	}
	if significant {
		return "significant, " + ps
	}
	return "not significant, " + ps
}

// opportunitySentence mirrors pages/diagnosis.js.
func opportunitySentence(stage string, share, cases, medianDays float64) string {
	return "Biggest opportunity: " + stageLabel(stage) + " — " + pct(share) + " of the cycle time across " + count(cases) +
		" cases (median " + days(medianDays) + ")."
}

func TestToFixedMatchesJavaScript(t *testing.T) {
	for _, c := range []struct {
		v    float64
		d    int
		want string
	}{
		{0.125, 2, "0.13"}, {12.25, 1, "12.3"}, {1.005, 2, "1.00"}, {-0.04, 1, "0.0"}, {-1.25, 1, "-1.3"},
		{0, 1, "0.0"}, {99.95, 1, "100.0"}, {1234.5, 0, "1235"}, {0.05, 1, "0.1"}, {2.5, 0, "3"},
	} {
		if got := toFixed(c.v, c.d); got != c.want {
			t.Errorf("toFixed(%v, %d) = %q, want %q", c.v, c.d, got, c.want)
		}
	}
	for _, c := range [][2]string{{count(1234567), "1,234,567"}, {money(1234567), "€1.2M"}, {money(950), "€950"}, {days(123.4), "123 days"}, {pct(0.1234), "12.3%"}} {
		if c[0] != c[1] {
			t.Errorf("got %q, want %q", c[0], c[1])
		}
	}
}

// withGrain is scope with a time series of grain g.
func withGrain(s map[string]any, g string) map[string]any {
	out := copyScope(s)
	out["grain"] = g
	return out
}

// withGroupByNames is scope grouped by the named dimensions.
func withGroupByNames(s map[string]any, names ...string) map[string]any {
	out := copyScope(s)
	out["groupByNames"] = names
	return out
}

// ppChange mirrors format.js FORMATS.ratio.change: a signed change in percentage points.
func ppChange(d float64) string {
	s := toFixed(d*100, 1)
	if !strings.HasPrefix(s, "-") && strings.Trim(s, "0.") != "" {
		s = "+" + s
	}
	return s + " pp"
}
