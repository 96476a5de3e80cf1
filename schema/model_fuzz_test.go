package schema

import (
	"errors"
	"testing"
)

// FuzzParseModel: ParseModel never panics; an error names file and line (every ModelError does);
// a model it accepts is consistent — every stage and mapped activity resolves, gates guard later
// stages, and validating again finds nothing.
func FuzzParseModel(f *testing.F) {
	f.Add(standardModelYAML)
	for _, s := range []string{
		"process:\n  name: m\n  stages:\n    - {id: a, tier: core, gate: {guards: zz}}\n",
		"process:\n  name: m\n  stages:\n    - {id: a, tier: core, gate: {guards: b}}\n    - {id: b, tier: core, gate: {guards: a}}\n",
		"process:\n  name: m\n  branches: [{id: x, when: {region: [EU]}}]\n  stages:\n    - {id: a, tier: branch, branches: [x, y]}\n",
		"process:\n  name: m\n  stages:\n    - {id: a, tier: core, activities: [X]}\n    - {id: b, tier: core, activities: [X]}\n",
		"process: &a\n  name: *a\n",
		"process:\n  name: m\n  stages: [{id: \"a → b\", tier: core, gate: {guards: c}}, {id: c, tier: core, gate: {guards: \"a → b\"}}]\n",
		"process:\n  bogus: 1\n",
		"",
		"process:\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseModel("fuzz.yaml", data)
		if err != nil {
			var me ModelError
			if errors.As(err, &me) && (me.File != "fuzz.yaml" || me.Line < 1) {
				t.Fatalf("model error without a location: %#v", me)
			}
			return
		}
		for i, s := range m.Stages {
			if got, ok := m.Stage(s.ID); !ok || got.ID != s.ID || m.Position(s.ID) != i {
				t.Fatalf("stage %q does not resolve", s.ID)
			}
			if s.Gate != nil && m.Position(s.Gate.Guards) <= i {
				t.Fatalf("gate %q guards %q, not a later stage", s.ID, s.Gate.Guards)
			}
		}
		for a, st := range m.ActivityMap() {
			if _, ok := m.Stage(st); !ok || m.StageOf(a) != st {
				t.Fatalf("activity %q maps to unknown stage %q", a, st)
			}
		}
		m.BranchFor(map[string]string{"region": "EU"})
		if err := m.validate(); err != nil {
			t.Fatalf("accepted model fails validation again: %v", err)
		}
	})
}
