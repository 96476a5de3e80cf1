// Package testenv holds the skip rule for tests that need something outside the repository (a
// system tool, a built asset, a shared dataset): skip with a clear message when it is absent,
// and fail instead when CI=true, so CI never passes by skipping.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips the test, or fails it in CI, explaining what is missing.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("required in CI (CI=true): "+format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}

// Tool returns the path of a system tool, or skips (fails in CI) when it is not installed.
func Tool(t testing.TB, name, hint string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s not installed (%s)", name, hint)
	}
	return p
}

// File skips (fails in CI) when path does not exist.
func File(t testing.TB, path, what string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, "%s not found at %s", what, path)
	}
}
