package auth

import "fmt"

// Role is what an identity may do. Roles are ordered: each includes the ones below it.
type Role int

// The roles, lowest first. The zero Role grants nothing.
const (
	// Viewer reads the dashboards and aggregate KPIs.
	Viewer Role = iota + 1
	// Analyst also drills down to cases and violations and uses GraphiQL.
	Analyst
	// Admin also reads ETL runs and the quarantine and changes initiatives.
	Admin
)

var roleNames = map[Role]string{Viewer: "viewer", Analyst: "analyst", Admin: "admin"}

// ParseRole returns the role named s (viewer, analyst or admin).
func ParseRole(s string) (Role, error) {
	for r, name := range roleNames {
		if name == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("role %q: want viewer, analyst or admin", s)
}

// String returns the role's name, or "none" for the zero Role.
func (r Role) String() string {
	if name, ok := roleNames[r]; ok {
		return name
	}
	return "none"
}

// Includes reports whether r grants everything need grants.
func (r Role) Includes(need Role) bool { return r >= need && need > 0 }
