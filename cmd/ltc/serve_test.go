package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/schema"
)

// TestServeExitsWhenPortInUse starts `ltc serve` on an address another socket holds: it must exit
// non-zero within a second or so with the bind error, and leave the warehouse unlocked.
func TestServeExitsWhenPortInUse(t *testing.T) {
	dir := t.TempDir()
	if _, err := synth.Generate(context.Background(), dir, synth.Options{Size: "small", Seed: 1, Now: demoNow}); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cmd := exec.Command(os.Args[0], "serve", "--config", filepath.Join(dir, "ltc.yaml"), "--listen", busy.Addr().String())
	cmd.Env = append(os.Environ(), "LTC_TEST_AS_BINARY=1")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("ltc serve on a busy port still running after 20s:\n%s", out)
	}
	took := time.Since(start)
	t.Logf("exited in %v: %v", took, err)
	if err == nil {
		t.Errorf("ltc serve on a busy port exited 0:\n%s", out)
	}
	if !strings.Contains(out.String(), "address already in use") {
		t.Errorf("no bind error in the output:\n%s", out)
	}
	if took > 5*time.Second { // the target is a second; the margin is for a loaded test machine
		t.Errorf("took %v to exit", took)
	}
	db, err := schema.Open(context.Background(), filepath.Join(dir, "ltc.duckdb"), schema.Options{Threads: 1})
	if err != nil {
		t.Fatalf("the warehouse stays locked: %v", err)
	}
	db.Close()
}
