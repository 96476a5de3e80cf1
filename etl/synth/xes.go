package synth

import (
	"bufio"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// XESOptions selects what WriteXES writes.
type XESOptions struct {
	// MaxEvents stops after the trace that reaches this many events (0: every event).
	MaxEvents int
	// Zone is the offset the timestamps are written in (nil: UTC), to show that offsets are honoured.
	Zone *time.Location
}

// WriteXES writes the events of generated event files (events/*.csv, in their order) to w as an
// XES event log (IEEE 1849): one trace per case, in the order cases first appear, each event with
// concept:name, lifecycle:transition complete, time:timestamp, org:resource, org:role and, where
// the source has them, outcome and template_used. It returns the number of events written. The
// events are grouped by case in memory: meant for logs of up to a few million events.
func WriteXES(w io.Writer, eventFiles []string, opts XESOptions) (int, error) {
	type event struct{ activity, at, actor, role, outcome, template string }
	cases := map[string][]event{}
	var order []string
	for _, path := range eventFiles {
		fh, err := os.Open(path)
		if err != nil {
			return 0, fmt.Errorf("synth.WriteXES: %w", err)
		}
		r := csv.NewReader(bufio.NewReader(fh))
		r.ReuseRecord = true
		header, err := r.Read()
		if err != nil {
			fh.Close()
			return 0, fmt.Errorf("synth.WriteXES: %s: %w", path, err)
		}
		col := map[string]int{}
		for i, h := range header {
			col[h] = i
		}
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				fh.Close()
				return 0, fmt.Errorf("synth.WriteXES: %s: %w", path, err)
			}
			id := rec[col["case_id"]]
			if _, ok := cases[id]; !ok {
				order = append(order, id)
			}
			cases[id] = append(cases[id], event{rec[col["activity"]], rec[col["occurred_at"]], rec[col["actor_id"]],
				rec[col["actor_role"]], rec[col["outcome"]], rec[col["template_used"]]})
		}
		fh.Close()
	}
	zone := opts.Zone
	if zone == nil {
		zone = time.UTC
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <string key="concept:name" value="ltc synthetic lead-to-cash"/>
`)
	n := 0
	for _, id := range order {
		if opts.MaxEvents > 0 && n >= opts.MaxEvents {
			break
		}
		evs := cases[id]
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
		bw.WriteString("  <trace>\n")
		xesAttr(bw, "    ", "string", "concept:name", id)
		for _, e := range evs {
			t, err := time.ParseInLocation(time.DateTime, e.at, time.UTC)
			if err != nil {
				return n, fmt.Errorf("synth.WriteXES: case %s: time %q: %w", id, e.at, err)
			}
			bw.WriteString("    <event>\n")
			xesAttr(bw, "      ", "string", "concept:name", e.activity)
			xesAttr(bw, "      ", "string", "lifecycle:transition", "complete")
			xesAttr(bw, "      ", "date", "time:timestamp", t.In(zone).Format("2006-01-02T15:04:05.000-07:00"))
			for _, a := range []struct{ key, v string }{{"org:resource", e.actor}, {"org:role", e.role}, {"outcome", e.outcome}} {
				if a.v != "" {
					xesAttr(bw, "      ", "string", a.key, a.v)
				}
			}
			if e.template != "" {
				xesAttr(bw, "      ", "boolean", "template_used", e.template)
			}
			bw.WriteString("    </event>\n")
			n++
		}
		bw.WriteString("  </trace>\n")
	}
	bw.WriteString("</log>\n")
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("synth.WriteXES: %w", err)
	}
	return n, nil
}

// xesAttr writes one attribute element, its value escaped (quotes too).
func xesAttr(w *bufio.Writer, indent, typ, key, value string) {
	var v strings.Builder
	xml.EscapeText(&v, []byte(value))
	fmt.Fprintf(w, "%s<%s key=\"%s\" value=\"%s\"/>\n", indent, typ, key, v.String())
}
