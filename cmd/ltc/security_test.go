package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/auth"
)

func TestTokenNew(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"token", "new", "--role", "analyst", "--business-unit", "North", "--region", "EU", "--name", "north-bi"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	tok := regexp.MustCompile(`token: (ltc_\S+)`).FindStringSubmatch(out)
	entry := regexp.MustCompile(`- (\{.*\})`).FindStringSubmatch(out)
	if tok == nil || entry == nil {
		t.Fatalf("output:\n%s", out)
	}
	var spec auth.TokenSpec
	if err := json.Unmarshal([]byte(entry[1]), &spec); err != nil {
		t.Fatal(err)
	}
	if spec.Hash != auth.HashToken(tok[1]) || spec.Role != "analyst" || spec.Name != "north-bi" ||
		len(spec.BusinessUnits) != 1 || spec.BusinessUnits[0] != "North" || spec.Regions[0] != "EU" {
		t.Errorf("entry %+v does not match token %s", spec, tok[1])
	}
	if strings.Count(out, tok[1]) != 1 {
		t.Error("token printed more than once")
	}
	if code := run(context.Background(), []string{"token", "new", "--role", "root"}, io.Discard, io.Discard); code == 0 {
		t.Error("unknown role accepted")
	}
}

// writeConfig writes an ltc.yaml without sources (an empty warehouse) plus extra, and returns its path.
func writeConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "ltc.yaml")
	if err := os.WriteFile(p, []byte("database: {path: ltc.duckdb}\n"+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeRefusesExposedWithoutAuth(t *testing.T) {
	cfg := writeConfig(t, "")
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--config", cfg, "--listen", "0.0.0.0:0", "--log-level", "error"}, io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "--insecure") || !strings.Contains(stderr.String(), "auth.tokens") {
		t.Errorf("serve on 0.0.0.0 without auth: exit %d, %s", code, stderr.String())
	}
	stderr.Reset()
	code = run(context.Background(), []string{"serve", "--config", writeConfig(t, "server: {metrics_listen: '0.0.0.0:0'}\n"), "--log-level", "error"}, io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "--insecure") {
		t.Errorf("metrics on 0.0.0.0 without auth: exit %d, %s", code, stderr.String())
	}
}

func TestServeWithTokens(t *testing.T) {
	tok, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	// Auth on, so a non-loopback address would be allowed; the test stays on loopback.
	cfg := writeConfig(t, "auth:\n  tokens:\n    - {name: ci, hash: "+hash+", role: viewer}\n")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", cfg, "--listen", addr, "--log-level", "warn"}, io.Discard, &stderr)
	}()
	defer func() {
		cancel()
		<-done
	}()
	base := "http://" + addr
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if code, _ := get(t, base+"/readyz"); code == 200 {
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("not ready: %s", stderr.String())
		}
	}
	post := func(token string) int {
		r, _ := http.NewRequest("POST", base+"/graphql", strings.NewReader(`{"query":"{ health { status } }"}`))
		r.Header.Set("Content-Type", "application/json")
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(""); c != 401 {
		t.Errorf("no token: %d", c)
	}
	if c := post(tok); c != 200 {
		t.Errorf("viewer token: %d", c)
	}
	if c, _ := get(t, base+"/metrics"); c != 401 {
		t.Errorf("/metrics without token: %d", c)
	}
	if strings.Contains(stderr.String(), tok) {
		t.Error("the token appears in the log")
	}
}
