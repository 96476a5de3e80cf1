package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ltc-analytics/ltc/auth"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("empty value")
	}
	*l = append(*l, v)
	return nil
}

func runToken(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("token", stderr)
	role := fs.String("role", "viewer", "role: viewer (dashboards, aggregate KPIs), analyst (+ cases, violations, GraphiQL), admin (+ ETL runs, quarantine, initiative changes)")
	name := fs.String("name", "", "token name, shown in logs (default ROLE-HASHPREFIX)")
	var units, regions stringList
	fs.Var(&units, "business-unit", "limit the token to this business unit (repeatable)")
	fs.Var(&regions, "region", "limit the token to this region (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] != "new" {
		fs.Usage()
		return errUsage
	}
	if err := fs.Parse(rest[1:]); err != nil { // flags may also follow "new"
		return err
	}
	if _, err := auth.ParseRole(*role); err != nil {
		return err
	}
	token, hash, err := auth.NewToken()
	if err != nil {
		return err
	}
	if *name == "" {
		*name = *role + "-" + hash[:8]
	}
	spec := auth.TokenSpec{Name: *name, Hash: hash, Role: *role, BusinessUnits: units, Regions: regions}
	if err := spec.Validate(); err != nil {
		return err
	}
	line, err := json.Marshal(spec) // a JSON object is also a YAML flow mapping
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "token: %s\n\n", token)
	fmt.Fprintln(stdout, "Give the token to its user now: it is not stored and cannot be shown again.")
	fmt.Fprintln(stdout, "Add this entry to ltc.yaml (it holds only the token's SHA-256), or to the LTC_TOKENS list:")
	fmt.Fprintf(stdout, "\nauth:\n  tokens:\n    - %s\n", line)
	return nil
}
