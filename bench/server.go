package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// overviewQuery reads the dashboard overview page's GraphQL query from its source, resolving the
// JavaScript constants it interpolates, so the replay is exactly what the page sends.
func overviewQuery(repo string) (string, error) {
	page, err := os.ReadFile(filepath.Join(repo, "dashboards/web/src/pages/overview.js"))
	if err != nil {
		return "", err
	}
	api, err := os.ReadFile(filepath.Join(repo, "dashboards/web/src/api.js"))
	if err != nil {
		return "", err
	}
	consts := map[string]string{}
	re := regexp.MustCompile("(?m)^(?:export )?const (\\w+) = (?:'([^']*)'|`([^`]*)`);")
	for _, src := range [][]byte{api, page} {
		for _, m := range re.FindAllSubmatch(src, -1) {
			consts[string(m[1])] = string(m[2]) + string(m[3])
		}
	}
	q, ok := consts["QUERY"]
	if !ok {
		return "", fmt.Errorf("overview.js: no QUERY constant")
	}
	subst := regexp.MustCompile(`\$\{(\w+)\}`)
	for i := 0; i < 5 && strings.Contains(q, "${"); i++ {
		q = subst.ReplaceAllStringFunc(q, func(s string) string { return consts[s[2:len(s)-1]] })
	}
	if strings.Contains(q, "${") {
		return "", fmt.Errorf("overview.js: unresolved constant in %q", q)
	}
	return q, nil
}

// dashboardScopes are the scopes a user of the overview page sends (state.js presets at the
// data's end, with the grain grainFor picks; with and without a business-unit filter).
func dashboardScopes() []map[string]any {
	end := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // start of the day after the data's last day
	iso := func(t time.Time) string { return t.Format(time.RFC3339) }
	presets := []struct {
		from  time.Time
		grain string
	}{{end.AddDate(0, 0, -28), "DAY"}, {end.AddDate(0, 0, -90), "WEEK"}, {time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), "DAY"}, {end.AddDate(-1, 0, 0), "MONTH"}}
	var out []map[string]any
	for _, p := range presets {
		for _, bu := range []string{"", "North", "South"} {
			s := map[string]any{"from": iso(p.from), "to": iso(end), "grain": p.grain, "filters": []any{}}
			if bu != "" {
				s["filters"] = []any{map[string]any{"dimension": "BUSINESS_UNIT", "values": []string{bu}}}
			}
			out = append(out, map[string]any{"s": s})
		}
	}
	return out
}

// benchServer runs `ltc serve` on the size's data as a separate process: the full initial load,
// the /metrics scrape, 32 dashboard clients for dur while an ETL run lands, the process's peak
// RSS and the warehouse file size.
func benchServer(ctx context.Context, o options, w *work, t *table, size string, dur time.Duration, log *slog.Logger) error {
	if _, err := os.Stat(o.ltc); err != nil {
		return fmt.Errorf("no ltc binary (make build): %w", err)
	}
	query, err := overviewQuery(o.repo)
	if err != nil {
		return err
	}
	dir := filepath.Join(w.dir, "server")
	events := filepath.Join(dir, "events")
	if err := linkEvents(w.d, events); err != nil {
		return err
	}
	cfgPath, dbPath, err := serverConfig(w.d, dir, events)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	logPath := filepath.Join(dir, "ltc.log")
	out, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(o.ltc, "serve", "--config", cfgPath, "--listen", addr, "--log-level", "info")
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
	}()
	base := "http://" + addr
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for {
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			stopped = true
			return fmt.Errorf("ltc serve exited: %v (log: %s)", err, logPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
	load := time.Since(start)
	// A source that failed to load would make every figure below one of a smaller warehouse.
	if b, err := os.ReadFile(logPath); err == nil && bytes.Contains(b, []byte("initial load had failures")) {
		return fmt.Errorf("ltc serve: the initial load had failures (log: %s)", logPath)
	}
	t.set("server: start + initial load of all 11 sources (ltc serve, to /readyz)", size, secs(load))
	log.Info("server ready", "size", size, "s", load.Seconds())

	// /metrics: KPI gauges are refreshed after commits, never on scrape.
	var scrapes []time.Duration
	for i := 0; i < 50; i++ {
		s := time.Now()
		resp, err := client.Get(base + "/metrics")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/metrics: HTTP %d", resp.StatusCode)
		}
		scrapes = append(scrapes, time.Since(s))
	}
	row := "/metrics scrape over HTTP (median of 50)"
	t.set(row, size, ms(median(scrapes)))
	t.target(row, "< 5 ms")

	if err := concurrency(ctx, client, base, query, events, w, t, size, o.clients, dur, log); err != nil {
		return err
	}
	row = "server peak RSS (VmHWM; memory budget 2 GiB, DuckDB memory_limit 1.5 GiB)"
	t.set(row, size, vmHWM(cmd.Process.Pid))
	t.target(row, "< 2 GiB budget")
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			return fmt.Errorf("ltc serve: %v (log: %s)", err, logPath)
		}
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("ltc serve did not stop")
	}
	var bytes int64
	for _, f := range []string{dbPath, dbPath + ".wal"} {
		if st, err := os.Stat(f); err == nil {
			bytes += st.Size()
		}
	}
	t.set("DuckDB file size (after checkpoint) · per million events", size,
		fmt.Sprintf("%.0f MiB · %.0f MiB", float64(bytes)/(1<<20), float64(bytes)/(1<<20)/(float64(w.d.events)/1e6)))
	return nil
}

// serverConfig writes a config for the server run: the generated one with absolute globs, the
// event log read from events (where the run drops a new file), checked every 5 s.
func serverConfig(d *data, dir, events string) (string, string, error) {
	b, err := os.ReadFile(filepath.Join(d.dir, "ltc.yaml"))
	if err != nil {
		return "", "", err
	}
	dbPath := filepath.Join(dir, "ltc.duckdb")
	s := string(b)
	s = strings.Replace(s, "  path: ltc.duckdb", "  path: "+dbPath, 1)
	s = strings.Replace(s, `glob: "events/*.csv"`, `glob: "`+filepath.Join(events, "*.csv")+`"`, 1)
	s = regexp.MustCompile(`glob: "([^/"]+)"`).ReplaceAllString(s, `glob: "`+d.dir+`/$1"`)
	s = strings.Replace(s, "schedule: {every: 1m}", "schedule: {every: 5s}", 1)
	cfg := filepath.Join(dir, "ltc.yaml")
	return cfg, dbPath, os.WriteFile(cfg, []byte(s), 0o644)
}

// concurrency replays the overview page's query from clients for dur; a few seconds in, a new
// event file lands and the scheduled ETL run commits it while the clients keep asking.
func concurrency(ctx context.Context, client *http.Client, base, query, events string, w *work, t *table, size string,
	clients int, dur time.Duration, log *slog.Logger) error {
	scopes := dashboardScopes()
	var bodies [][]byte
	for _, v := range scopes {
		b, _ := json.Marshal(map[string]any{"query": query, "variables": v, "operationName": "Overview"})
		bodies = append(bodies, b)
	}
	version := func() int {
		resp, err := client.Post(base+"/graphql", "application/json", strings.NewReader(`{"query":"{ health { dataVersion } }"}`))
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		var r struct {
			Data struct{ Health struct{ DataVersion int } }
		}
		json.NewDecoder(resp.Body).Decode(&r)
		return r.Data.Health.DataVersion
	}
	v0 := version()
	// The new file is written beside the glob first, and moved under it during the run.
	pending := filepath.Join(filepath.Dir(events), "zz-during-load.csv.tmp")
	if _, err := writeIncrement(ctx, w.d, pending, "live", 42); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var errs atomic.Int64
	var firstErr atomic.Value
	var firstAt, lastAt atomic.Int64 // offsets of the first and last error from begin, in ns (0: none)
	var wg sync.WaitGroup
	begin := time.Now()
	failed := func(msg string) {
		errs.Add(1)
		firstErr.CompareAndSwap(nil, strings.TrimSpace(msg))
		at := int64(time.Since(begin))
		firstAt.CompareAndSwap(0, at)
		for last := lastAt.Load(); at > last && !lastAt.CompareAndSwap(last, at); last = lastAt.Load() {
		}
	}
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := c; ctx.Err() == nil; i++ {
				s := time.Now()
				resp, err := client.Post(base+"/graphql", "application/json", bytes.NewReader(bodies[i%len(bodies)]))
				if err != nil {
					if ctx.Err() == nil {
						failed(err.Error())
					}
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"errors"`)) {
					failed(fmt.Sprintf("HTTP %d: %.200s", resp.StatusCode, body))
					continue
				}
				mine = append(mine, time.Since(s))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	// The ETL run: one new file with 1% more events, picked up by the 5 s schedule.
	landed := time.Duration(0)
	var wgw sync.WaitGroup
	wgw.Add(1)
	go func() {
		defer wgw.Done()
		time.Sleep(dur / 10)
		if err := os.Rename(pending, filepath.Join(events, "zz-during-load.csv")); err != nil {
			log.Error("landing the new event file", "err", err)
			return
		}
		for ctx.Err() == nil {
			if v := version(); v > v0 {
				landed = time.Since(begin)
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	wg.Wait()
	elapsed := time.Since(begin)
	wgw.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	row := fmt.Sprintf("concurrency: %d clients × overview page while an ETL run lands: run length · req/s · p50 · p99", clients)
	t.set(row, size, fmt.Sprintf("%.0f s · %.0f · %s · %s", dur.Seconds(), float64(len(lat))/elapsed.Seconds(), ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99))))
	row2 := "concurrency: errors · ETL commit landed at"
	landedS := "✗ not within the run"
	if landed > 0 {
		landedS = fmt.Sprintf("%.1f s", landed.Seconds())
	}
	e := fmt.Sprintf("%d", errs.Load())
	if v := firstErr.Load(); v != nil {
		e += fmt.Sprintf(" at %.1f–%.1f s (%s)", time.Duration(firstAt.Load()).Seconds(), time.Duration(lastAt.Load()).Seconds(), v.(string))
	}
	t.set(row2, size, e+" · "+landedS)
	t.target(row2, "0 errors")
	log.Info("concurrency", "size", size, "requests", len(lat), "errors", errs.Load(), "landed_s", landed.Seconds())
	return nil
}

// vmHWM reads a process's peak resident set size.
func vmHWM(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%d", &kb)
			return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
		}
	}
	return "unknown"
}
