// Package testpg starts a private PostgreSQL server for a test: initdb into a temp folder, then
// pg_ctl on a free local port (TCP on 127.0.0.1 only, no Unix socket, password authentication).
// The binaries come from PATH or Debian's /usr/lib/postgresql/<version>/bin; when absent the test
// skips (fails when CI=true). initdb refuses to run as root, so as root the server runs as the
// unprivileged user "postgres" (Debian's package creates it) or else "nobody", through runuser,
// in a folder that user owns.
package testpg

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/ltc-analytics/ltc/internal/testenv"
)

// Password is the password of the server's superuser, User.
const (
	User     = "ltc"
	Password = "ltc-test-password"
)

// Server is a running private PostgreSQL server.
type Server struct {
	t       testing.TB
	Port    int
	dir     string
	bin     string
	runAs   string
	stopped bool
}

// bindir finds the folder of initdb and pg_ctl.
func bindir() string {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i]
		}
	}
	return ""
}

// Start starts a server with an empty database "ltc" and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := bindir()
	if bin == "" {
		testenv.Missing(t, "PostgreSQL server binaries (initdb, pg_ctl) not installed (apt-get install postgresql)")
	}
	s := &Server{t: t, bin: bin}
	if os.Geteuid() == 0 {
		for _, name := range []string{"postgres", "nobody"} {
			if _, err := user.Lookup(name); err == nil {
				s.runAs = name
				break
			}
		}
		if s.runAs == "" {
			testenv.Missing(t, "running as root and no unprivileged user (postgres, nobody) to run initdb as")
		}
	}
	dir, err := os.MkdirTemp("", "ltc-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s.dir = dir
	t.Cleanup(func() {
		s.Stop()
		os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(Password+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s.runAs != "" {
		if out, err := exec.Command("chown", "-R", s.runAs, dir).CombinedOutput(); err != nil {
			t.Fatalf("chown %s: %v: %s", dir, err, out)
		}
	}
	s.run("initdb", "-D", filepath.Join(dir, "data"), "-U", User, "--pwfile", pwfile, "--auth", "scram-sha-256",
		"-E", "UTF8", "--locale", "C", "--no-sync")
	s.Port = freePort(t)
	s.run("pg_ctl", "-D", filepath.Join(dir, "data"), "-l", filepath.Join(dir, "log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -k '' -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", s.Port), "start")
	s.Exec("CREATE DATABASE crm")
	return s
}

// run runs a server tool (as the unprivileged user when root) and fails the test on error.
func (s *Server) run(tool string, args ...string) {
	s.t.Helper()
	if out, err := s.command(tool, args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		s.t.Fatalf("%s %s: %v\n%s\n%s", tool, strings.Join(args, " "), err, out, log)
	}
}

func (s *Server) command(tool string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, tool)
	if s.runAs != "" {
		return exec.Command("runuser", append([]string{"-u", s.runAs, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// DSN is the URL of database db on the server, with password as given.
func (s *Server) DSN(db, password string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", User, password, s.Port, db)
}

// Exec runs SQL statements in database postgres (the first call creates crm), or in crm after.
func (s *Server) Exec(sql string, args ...any) {
	s.t.Helper()
	db := "crm"
	if strings.HasPrefix(sql, "CREATE DATABASE") {
		db = "postgres"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN(db, Password))
	if err != nil {
		s.t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		s.t.Fatalf("%.200s: %v", sql, err)
	}
}

// Stop stops the server (fast shutdown); stopping twice does nothing.
func (s *Server) Stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	_ = s.command("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop").Run()
}

// freePort returns a TCP port free on 127.0.0.1 now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port, _ := strconv.Atoi(strings.TrimPrefix(l.Addr().String(), "127.0.0.1:"))
	return port
}
