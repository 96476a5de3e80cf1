package auth

import "testing"

func TestRoles(t *testing.T) {
	for _, tc := range []struct {
		have, need Role
		want       bool
	}{
		{Viewer, Viewer, true}, {Viewer, Analyst, false}, {Viewer, Admin, false},
		{Analyst, Viewer, true}, {Analyst, Analyst, true}, {Analyst, Admin, false},
		{Admin, Viewer, true}, {Admin, Admin, true}, {0, Viewer, false}, {Admin, 0, false},
	} {
		if got := tc.have.Includes(tc.need); got != tc.want {
			t.Errorf("%v.Includes(%v) = %v, want %v", tc.have, tc.need, got, tc.want)
		}
	}
	for _, name := range []string{"viewer", "analyst", "admin"} {
		r, err := ParseRole(name)
		if err != nil || r.String() != name {
			t.Errorf("ParseRole(%q) = %v, %v", name, r, err)
		}
	}
	for _, bad := range []string{"", "Admin", "root"} {
		if _, err := ParseRole(bad); err == nil {
			t.Errorf("ParseRole(%q) accepted", bad)
		}
	}
}
