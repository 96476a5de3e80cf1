package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"TOKEN": "s3cret", "A_1": "x"}
	getenv := func(k string) string { return env[k] }
	for in, want := range map[string]string{
		"hash: ${TOKEN}":        "hash: s3cret",
		"${A_1}${A_1}":          "xx",
		"label: $1 off":         "label: $1 off",
		"price: 5$":             "price: 5$",
		"$HOME stays":           "$HOME stays",
		"escaped: $${TOKEN}":    "escaped: ${TOKEN}",
		"double: $$$$":          "double: $$",
		"unset: '${NOPE}'":      "unset: ''",
		"not a name: ${1X} ${}": "not a name: ${1X} ${}",
		"unterminated: ${TOKEN": "unterminated: ${TOKEN",
		"ünïcode ${TOKEN} €$":   "ünïcode s3cret €$",
	} {
		if got := ExpandEnv(in, getenv); got != want {
			t.Errorf("ExpandEnv(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLoadKeepsDollars: a mapped value "$1 off" loads as written (every $ used to be expanded,
// turning it into " off").
func TestLoadKeepsDollars(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ltc.yaml")
	yaml := "sources:\n  - name: l\n    format: csv\n    glob: 'x/*.csv'\n    target: leads\n" +
		"    columns:\n      channel: {from: Source, map: {'$1 off': promo, '$$5': five}}\n"
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Sources[0].Columns["channel"].Map
	if m["$1 off"] != "promo" || m["$5"] != "five" {
		t.Errorf("map = %v, want keys \"$1 off\" and \"$5\"", m)
	}
}

// TestCheckRejectsUnusableDatabaseSettings: a memory budget DuckDB cannot work in and negative
// threads are config errors, not a failure at the first query.
func TestCheckRejectsUnusableDatabaseSettings(t *testing.T) {
	for _, tc := range []struct{ db, want string }{
		{"memory_limit: 1KB", "memory_limit"},
		{"memory_limit: 63MiB", "memory_limit"},
		{"threads: -4", "threads"},
	} {
		_, err := Parse("ltc.yaml", []byte("database:\n  "+tc.db+"\n"), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v", tc.db, err)
		}
	}
	if _, err := Parse("ltc.yaml", []byte("database:\n  memory_limit: 64MiB\n  threads: 2\n"), t.TempDir()); err != nil {
		t.Errorf("64MiB, 2 threads: %v", err)
	}
}
