package etl

import (
	"bytes"
	"compress/gzip"
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// xesLog is a hand-written log: trace c1 (a start transition, filtered out; two completes with
// +01:00 and -05:00 offsets), a malformed trace (</evnt> closes <event>, on line 22), and trace
// c3 (a Z time, an event without lifecycle, a +02:00 offset, and a start transition filtered out).
const xesLog = `<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <global scope="event"><string key="concept:name" value="__INVALID__"/></global>
  <string key="concept:name" value="hand-written"/>
  <trace>
    <string key="concept:name" value="c1"/>
    <string key="team" value="north"/>
    <event>
      <string key="concept:name" value="Lead Created"/><string key="lifecycle:transition" value="start"/>
      <date key="time:timestamp" value="2026-01-05T09:00:00.000+01:00"/><string key="org:resource" value="e1"/>
    </event>
    <event>
      <string key="concept:name" value="Lead Created"/><string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2026-01-05T10:00:00.000+01:00"/><string key="org:resource" value="e1"/>
    </event>
    <event>
      <string key="concept:name" value="Lead Qualified"/><string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2026-01-06T10:00:00.000-05:00"/><string key="org:resource" value="e2"/>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="c2"/>
    <event>
      <string key="concept:name" value="Lead Created"/>
    </evnt>
  </trace>
  <trace>
    <string key="concept:name" value="c3"/>
    <string key="team" value="south"/>
    <event>
      <string key="concept:name" value="Lead Created"/><string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2026-01-07T08:00:00Z"/>
    </event>
    <event>
      <string key="concept:name" value="Opportunity Created"/>
      <date key="time:timestamp" value="2026-01-08T12:30:00+02:00"/><string key="org:resource" value="e3"/>
      <list key="items"><string key="item" value="nested, not read"/></list>
    </event>
    <event>
      <string key="concept:name" value="Opportunity Created"/><string key="lifecycle:transition" value="start"/>
      <date key="time:timestamp" value="2026-01-08T11:00:00+02:00"/>
    </event>
  </trace>
</log>
`

// xesCSV holds the events of xesLog that the lifecycle filter keeps, times in UTC.
const xesCSV = `case_id,activity,occurred_at,actor_id,actor_role
c1,Lead Created,2026-01-05 09:00:00,e1,north
c1,Lead Qualified,2026-01-06 15:00:00,e2,north
c3,Lead Created,2026-01-07 08:00:00,,south
c3,Opportunity Created,2026-01-08 10:30:00,e3,south
`

func xesSpec(glob string) source.Spec {
	return source.Spec{Name: "log", Format: source.FormatXES, Glob: glob, Target: "stage_events",
		XES:     source.XESOptions{Lifecycle: []string{"complete"}},
		Columns: map[string]source.Column{"actor_role": {From: "trace:team"}}}
}

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestXESLoadsEventsAndQuarantinesBrokenTrace(t *testing.T) {
	for _, tc := range []struct{ name, file, content string }{
		{"plain", "log/a.xes", xesLog},
		{"gzip", "log/a.xes.gz", gzipped(t, xesLog)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.write(tc.file, tc.content)
			r := f.runner(nil, xesSpec("log/*"))
			res := mustRun(t, r, "log")
			// 4 events kept (2 start transitions filtered), plus the malformed trace.
			if res.RowsRead != 5 || res.RowsLoaded != 4 || res.RowsQuarantined != 1 {
				t.Fatalf("run: %+v", res)
			}
			got := f.str(`SELECT string_agg(case_id || '|' || activity || '|' || strftime(occurred_at, '%Y-%m-%d %H:%M') || '|' ||
				coalesce(actor_id, '-') || '|' || actor_role || '|' || coalesce(stage, '-') || '|' || seq, ';' ORDER BY seq) FROM stage_events`)
			// seq numbers the kept events in log order (the filtered start event of c1 is not one).
			want := "c1|Lead Created|2026-01-05 09:00|e1|north|lead_created|1;c1|Lead Qualified|2026-01-06 15:00|e2|north|lead_qualified|2;" +
				"c3|Lead Created|2026-01-07 08:00|-|south|lead_created|3;c3|Opportunity Created|2026-01-08 10:30|e3|south|opportunity_created|4"
			if got != want {
				t.Errorf("events:\n got %s\nwant %s", got, want)
			}
			var line int64
			var reason, raw string
			if err := f.db.Read.QueryRow("SELECT line, reason, raw FROM quarantine").Scan(&line, &reason, &raw); err != nil {
				t.Fatal(err)
			}
			// The broken <trace> tag is on line 22, at the byte offset of its '<'.
			off := strings.Index(xesLog, "<trace>\n    <string key=\"concept:name\" value=\"c2\"/>")
			if line != 22 || !strings.Contains(reason, "malformed XML in the trace at byte "+strconv.Itoa(off)+" (line 22)") ||
				!strings.Contains(reason, "evnt") || !strings.Contains(raw, `value="c2"`) {
				t.Errorf("quarantine: line %d, reason %q, raw %q (want line 22, byte %d)", line, reason, raw, off)
			}
			// A rerun of the unchanged log is a no-op.
			if res := mustRun(t, r, "log"); res.Status != StatusNoop {
				t.Errorf("rerun: %+v", res)
			}
		})
	}
}

// TestXESSameKPIsAsCSV loads xesLog and the equivalent CSV into two warehouses; the funnel of
// January 2026 must be the same, and (worked by hand) 2 cases start (c1, c3), both reach
// lead_created, 1 of 2 reaches lead_qualified (c1) and 1 of 2 opportunity_created (c3).
func TestXESSameKPIsAsCSV(t *testing.T) {
	ctx := context.Background()
	scope := kpi.Scope{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	now := func() time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) }
	funnel := func(file, content string, spec source.Spec) *kpi.Breakdown[kpi.Funnel] {
		t.Helper()
		f := newFixture(t)
		f.write(file, content)
		eng := kpi.New(f.db, schema.StandardModel(), kpi.Options{Now: now})
		res := mustRun(t, f.runner(eng.Refresh, spec), spec.Name)
		if res.RowsLoaded != 4 {
			t.Fatalf("%s: %+v", file, res)
		}
		out, err := eng.Funnel(ctx, scope, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	fromXES := funnel("log/a.xes", xesLog, xesSpec("log/*.xes"))
	fromCSV := funnel("log/a.csv", xesCSV, source.Spec{Name: "log", Format: "csv", Glob: "log/*.csv", Target: "stage_events"})
	if !reflect.DeepEqual(fromXES, fromCSV) {
		t.Errorf("funnel from XES %+v\n differs from CSV %+v", fromXES.Total, fromCSV.Total)
	}
	reached := map[string]kpi.Value{}
	for _, st := range fromXES.Total.Stages {
		reached[st.Stage] = st.Reached
	}
	for stage, want := range map[string][2]float64{"lead_created": {2, 2}, "lead_qualified": {1, 2}, "opportunity_created": {1, 2}} {
		if v := reached[stage]; v.Value != want[0] || float64(v.N) != want[1] {
			t.Errorf("%s reached %v of %d, want %v of %v", stage, v.Value, v.N, want[0], want[1])
		}
	}
}

// TestXESBrokenHeaderAndTruncation: malformed XML before any trace fails the file (nothing
// loads); a log cut off inside its last trace loads the complete traces and quarantines the cut one.
func TestXESBrokenHeaderAndTruncation(t *testing.T) {
	f := newFixture(t)
	f.write("log/a.xes", `<?xml version="1.0"?><log><extension name="x" prefix="x"></log>`)
	r := f.runner(nil, xesSpec("log/*.xes"))
	if _, err := r.Run(context.Background(), "log"); err == nil || !strings.Contains(err.Error(), "outside any trace") {
		t.Errorf("broken header: err %v, want a malformed XML error outside any trace", err)
	}
	cut := strings.Index(xesLog, `<string key="concept:name" value="Opportunity Created"/>`)
	f.write("log/a.xes", xesLog[:cut])
	res := mustRun(t, r, "log")
	// c1's two complete events load; the broken c2 and the cut c3 are quarantined.
	if res.RowsLoaded != 2 || res.RowsQuarantined != 2 || f.count("SELECT count(*) FROM stage_events") != 2 {
		t.Errorf("truncated log: %+v", res)
	}
	if got := f.str("SELECT reason FROM quarantine ORDER BY line DESC LIMIT 1"); !strings.Contains(got, "unexpected EOF") {
		t.Errorf("cut trace: %q", got)
	}
}
