package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDefaultsAndOverrides(t *testing.T) {
	t.Setenv(EnvListen, "127.0.0.1:9999")
	c, err := Parse("ltc.yaml", []byte(`
sources:
  - {name: leads, format: csv, glob: "leads/*.csv", target: leads, schedule: {every: 5m}}
`), "/srv/ltc")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "127.0.0.1:9999" {
		t.Errorf("listen %q: LTC_LISTEN must override", c.Server.Listen)
	}
	if c.Database.Path != DefaultDBPath || c.Process != "ltc-standard" || c.Sources[0].Kind != "file" {
		t.Errorf("defaults: %+v", c)
	}
	if got := c.Resolve("leads/*.csv"); got != "/srv/ltc/leads/*.csv" {
		t.Errorf("Resolve: %q", got)
	}
	if c.KPI.Window().Hours() != 28*24 || c.Server.Timeout().Seconds() != 30 || !c.Server.IntrospectionEnabled() {
		t.Errorf("duration defaults wrong")
	}
}

func TestParseListsEveryError(t *testing.T) {
	_, err := Parse("bad.yaml", []byte(`
kpi: {sprint_anchor: "5 Jan", metrics_window: "-1h", metrics_max_labels: -3}
sources:
  - {name: a, format: xls, glob: "x", target: leads}
  - {name: a, format: csv, glob: "y", target: nowhere, schedule: {cron: "every day"}}
  - name: b
    format: csv
    glob: z
    target: leads
    timezone: Mars/Olympus
    columns:
      colour: {from: c}
      status: {from: s, const: x}
`), "/tmp")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`source "a": format "xls"`,
		`source "a": duplicate name`,
		`source "a": target "nowhere" is not a canonical table`,
		`cron "every day"`,
		`source "b": timezone "Mars/Olympus"`,
		`columns: "colour" is not a field of leads`,
		`columns.status: give only one of from, const, lookup`,
		`kpi.sprint_anchor "5 Jan"`,
		`kpi.metrics_window "-1h"`,
		`kpi.metrics_max_labels -3`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestKPIMetricsSettings(t *testing.T) {
	c, err := Parse("ltc.yaml", []byte("kpi: {metrics_window: 168h, metrics_max_labels: 7}\n"), "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	if c.KPI.Window().Hours() != 168 || c.KPI.MaxLabels() != 7 {
		t.Errorf("window %v, max labels %d", c.KPI.Window(), c.KPI.MaxLabels())
	}
	if d := (KPI{}); d.MaxLabels() != 50 || d.Window().Hours() != 28*24 {
		t.Errorf("defaults: window %v, max labels %d", d.Window(), d.MaxLabels())
	}
}

func TestLoadExpandsEnvironment(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ltc.yaml")
	os.WriteFile(p, []byte("database: {path: ${LTC_TEST_DB}}\n"), 0o644)
	t.Setenv("LTC_TEST_DB", "secret.duckdb")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.Path != "secret.duckdb" || c.Dir != dir {
		t.Errorf("got %+v", c.Database)
	}
	if _, err := Parse("x.yaml", []byte("databse: {}\n"), dir); err == nil || !strings.Contains(err.Error(), "databse") {
		t.Errorf("unknown key: %v", err)
	}
}
