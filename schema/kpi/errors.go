package kpi

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; callers test them with errors.Is and the API maps them to stable codes.
var (
	// ErrBadScope reports an invalid scope or argument (API code BAD_SCOPE).
	ErrBadScope = errors.New("bad scope")
	// ErrUnknownStage reports a stage or gate id that is not in the process model (API code UNKNOWN_STAGE).
	ErrUnknownStage = errors.New("unknown stage")
	// ErrBadCursor reports a pagination cursor this engine did not issue (a kind of ErrBadScope).
	ErrBadCursor = errors.New("bad cursor")
	// ErrConfig reports an engine configuration that cannot work: an Options field naming an unknown
	// stage, or a model with more stages than the engine supports. (*Engine).Check reports it.
	ErrConfig = errors.New("kpi engine configuration")
)

// ErrNotConfigured reports a KPI the process model cannot serve because it does not mark a
// milestone the KPI is defined on (API code NOT_CONFIGURED). NotConfiguredError wraps it.
var ErrNotConfigured = errors.New("not configured")

// NotConfiguredError says which KPI needs which milestones the model does not mark.
type NotConfiguredError struct {
	What       string   // e.g. "sales cycle"
	Milestones []string // the missing milestones
}

func (e *NotConfiguredError) Error() string {
	if len(e.Milestones) == 1 {
		return fmt.Sprintf("the %s needs the milestone %s, which the process model does not mark (add `milestone: %s` to a stage)",
			e.What, e.Milestones[0], e.Milestones[0])
	}
	return fmt.Sprintf("the %s needs the milestones %s, which the process model does not mark (add `milestone: NAME` to a stage for each)",
		e.What, strings.Join(e.Milestones, " and "))
}

// Unwrap makes errors.Is(err, ErrNotConfigured) hold.
func (e *NotConfiguredError) Unwrap() error { return ErrNotConfigured }
