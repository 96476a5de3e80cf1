package config

import (
	"fmt"

	"github.com/ltc-analytics/ltc/initiative"
)

// InitiativeList converts every declared initiative (see initiative.Spec.Initiative); Parse has
// already validated them, so an error here means the Config was built by hand.
func (c *Config) InitiativeList() ([]initiative.Initiative, error) {
	out := make([]initiative.Initiative, 0, len(c.Initiatives))
	for _, s := range c.Initiatives {
		in, err := s.Initiative()
		if err != nil {
			return nil, fmt.Errorf("config: initiatives: %w", err)
		}
		out = append(out, in)
	}
	return out, nil
}

// validateInitiatives reports every problem of the declared initiatives, each prefixed with
// "initiatives[i]" and wrapping initiative.ErrBadInitiative (and the specific sentinels).
func validateInitiatives(specs []initiative.Spec) []error {
	var errs []error
	seen := map[string]bool{}
	for i, s := range specs {
		if s.ID != "" && seen[s.ID] {
			errs = append(errs, fmt.Errorf("initiatives[%d]: %w %q: duplicate id", i, initiative.ErrBadInitiative, s.ID))
		}
		seen[s.ID] = true
		if _, err := s.Initiative(); err != nil {
			errs = append(errs, fmt.Errorf("initiatives[%d]: %w", i, err))
		}
	}
	return errs
}
