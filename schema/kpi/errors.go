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
	// ErrConfig reports an engine configuration that cannot work: an Options field naming an unknown
	// stage, or a model with more stages than the engine supports. (*Engine).Check reports it.
	ErrConfig = errors.New("kpi engine configuration")
)
