package main

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/dashboards/web"
	"github.com/ltc-analytics/ltc/internal/testenv"
	"github.com/ltc-analytics/ltc/server"
)

// TestCSVDownloadsNeutraliseFormulas renders CSV in the bundled dashboard (the code every card's
// download button uses): a text cell starting with = + - @, a tab or a carriage return (a source
// value such as =HYPERLINK(…)) gets an apostrophe so a spreadsheet shows it instead of running it;
// numbers, negative ones included, are left alone.
func TestCSVDownloadsNeutraliseFormulas(t *testing.T) {
	chromium := testenv.Tool(t, "chromium", "apt-get install chromium; .ci/run installs it")
	if !web.New(web.Options{}).Built() {
		testenv.Missing(t, "dashboards not bundled (make ui, or npm ci && npm run build in dashboards/web)")
	}
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	go server.New(server.Options{Listener: ln, UI: newUI(logger), Logger: logger}).Run(ctx)
	base := "http://" + ln.Addr().String()

	tb := openTab(t, startBrowser(t, chromium), base, width, height)
	tb.load("")
	deadline := time.Now().Add(time.Minute)
	for tb.eval(`typeof window.__ltc === 'object' && typeof window.__ltc.csvText === 'function'`) != true {
		if time.Now().After(deadline) {
			t.Fatal("the dashboard did not load")
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := tb.eval(`window.__ltc.csvText([
	  ['=HYPERLINK("http://evil.example","x")', '+1+1', '-2+3', '@SUM(A1)', '\tTAB', '\rCR', 'North'],
	  [-3, '-0.25', '+4', '12%', '-5%', 1.5, null]])`)
	want := `"'=HYPERLINK(""http://evil.example"",""x"")",'+1+1,'-2+3,'@SUM(A1),'` + "\tTAB" + `,"'` + "\rCR" + `",North` + "\r\n" +
		"-3,-0.25,+4,12%,-5%,1.5,\r\n"
	if got != want {
		t.Errorf("csv:\n%q\nwant\n%q", got, want)
	}
}
