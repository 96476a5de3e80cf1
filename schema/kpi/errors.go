package kpi

import "errors"

// Sentinel errors; callers test them with errors.Is and the API maps them to stable codes.
var (
	// ErrBadScope reports an invalid scope or argument (API code BAD_SCOPE).
	ErrBadScope = errors.New("bad scope")
	// ErrUnknownStage reports a stage or gate id that is not in the process model (API code UNKNOWN_STAGE).
	ErrUnknownStage = errors.New("unknown stage")
	// ErrBadCursor reports a pagination cursor this engine did not issue (a kind of ErrBadScope).
	ErrBadCursor = errors.New("bad cursor")
)
