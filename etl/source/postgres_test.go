package source

import (
	"strings"
	"testing"
)

func TestValidatePostgresAndXES(t *testing.T) {
	targets := map[string][]string{"leads": {"lead_id", "created_at"}}
	ok := Spec{Name: "pg", Kind: KindDatabase, Format: FormatPostgres, Target: "leads",
		Postgres: Postgres{DSN: "postgres://ltc@db/crm", Table: "crm.leads", Cursor: "updated_at", StatementTimeout: "30s", FullCompareEvery: "6h"}}
	if errs := ok.Validate(targets); len(errs) != 0 {
		t.Fatalf("valid postgres source: %v", errs)
	}
	for name, tc := range map[string]struct {
		edit func(s *Spec)
		want string
	}{
		"no dsn":           {func(s *Spec) { s.DSN = "" }, "dsn is required"},
		"table and query":  {func(s *Spec) { s.Query = "SELECT 1" }, "not both"},
		"neither":          {func(s *Spec) { s.Table = "" }, "give table or query"},
		"bad table":        {func(s *Spec) { s.Table = "leads; DROP TABLE x" }, "want name or schema.name"},
		"bad cursor":       {func(s *Spec) { s.Cursor = "updated at" }, "want a column name"},
		"glob":             {func(s *Spec) { s.Glob = "*.csv" }, "glob is for file sources"},
		"timeout":          {func(s *Spec) { s.StatementTimeout = "soon" }, "statement_timeout"},
		"compare w/o cur":  {func(s *Spec) { s.Cursor = "" }, "full_compare_every needs a cursor"},
		"file kind":        {func(s *Spec) { s.Kind = KindFile }, `kind "file" does not fit format "postgres"`},
		"negative batch":   {func(s *Spec) { s.BatchSize = -1 }, "batch_size -1"},
		"xes option on pg": {func(s *Spec) { s.XES.Lifecycle = []string{"complete"} }, "xes.lifecycle is an option of format: xes"},
		"pg option on csv": {func(s *Spec) { s.Format, s.Kind, s.Glob = "csv", KindFile, "a.csv" }, "options of format: postgres"},
	} {
		s := ok
		tc.edit(&s)
		errs := s.Validate(targets)
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Error())
		}
		if !strings.Contains(strings.Join(msgs, "\n"), tc.want) {
			t.Errorf("%s: errors %q, want one containing %q", name, msgs, tc.want)
		}
	}
	xes := Spec{Name: "log", Format: FormatXES, Glob: "*.xes.gz", Target: "leads", XES: XESOptions{Lifecycle: []string{"complete"}}}
	if errs := xes.Validate(targets); len(errs) != 0 {
		t.Errorf("valid xes source: %v", errs)
	}
	if KindOf(FormatXES) != KindFile || KindOf(FormatPostgres) != KindDatabase {
		t.Error("KindOf")
	}
}
