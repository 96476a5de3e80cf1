package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ltc-analytics/ltc/auth"
	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/dashboards/web"
	"github.com/ltc-analytics/ltc/internal/testenv"
)

// TestDashboardSignIn serves the demo with a token (LTC_TOKENS) and signs in through the
// dashboard's form in Chromium: a wrong token is refused, the right one loads the dashboards with
// the session cookie (not readable by the page), and signing out brings the form back.
func TestDashboardSignIn(t *testing.T) {
	chromium := testenv.Tool(t, "chromium", "apt-get install chromium; .ci/run installs it")
	if !web.New(web.Options{}).Built() {
		testenv.Missing(t, "dashboards not bundled (make ui, or npm ci && npm run build in dashboards/web)")
	}
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	tok, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(config.EnvTokens, fmt.Sprintf(`[{name: north-bi, hash: %s, role: analyst, business_units: [North]}]`, hash))
	base := startDemo(t, "small")
	tb := openTab(t, startBrowser(t, chromium), base, width, height)

	tb.do(chromedp.Navigate(base + "/#/overview"))
	tb.poll(`document.body.dataset.state === 'signin' && !!document.querySelector('#signin-token')`)
	signIn := func(token string) {
		tb.eval(fmt.Sprintf(`(() => { const i = document.querySelector('#signin-token'); i.value = %q;
			document.querySelector('form.signin').requestSubmit(); })()`, token))
	}
	signIn("ltc_wrong")
	tb.poll(`document.querySelector('.signin-status').textContent.includes('not accepted')`)
	signIn(tok)
	tb.poll(`document.body.dataset.state === 'ready'`)
	if who := tb.text(`[data-testid=who]`); !strings.Contains(who, "north-bi") || !strings.Contains(who, "North") {
		t.Errorf("signed-in line %q", who)
	}
	if c := tb.eval(`document.cookie`).(string); strings.Contains(c, "ltc_session") {
		t.Errorf("the session cookie is readable by scripts: %q", c)
	}
	tb.noCardErrors()
	tb.eval(`document.querySelector('[data-testid=who] button').click()`)
	tb.poll(`document.body.dataset.state === 'signin'`)
	tb.do(chromedp.Reload())
	tb.poll(`document.body.dataset.state === 'signin'`)
}
