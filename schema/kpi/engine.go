// Package kpi is the KPI engine (the semantic layer) of DESIGN §5: Refresh rebuilds case-level facts
// from the canonical tables inside each ETL transaction, and one file per metric family answers
// parameterised queries over those facts, each beside the previous period of equal length, with
// optional breakdowns by case attributes and time series. Results are cached by data version.
// A RowScope carried by the context (WithRowScope) restricts every query to some business units
// and regions, on top of the Scope's filters.
package kpi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ltc-analytics/ltc/schema"
)

// Options configures an Engine.
type Options struct {
	// SprintAnchor is the start of a sprint; SPRINT buckets are SprintDays long from it.
	SprintAnchor time.Time
	// SprintDays is the sprint length; 0 means 14.
	SprintDays int
	// CacheSize is the number of results kept in the cache; 0 means 512, negative disables caching.
	CacheSize int
	// CacheBytes bounds the cache by the approximate size of its results; 0 means 64 MiB.
	CacheBytes int64
	// Now returns the current time (receivables are measured at min(period end, Now())); nil means time.Now.
	Now func() time.Time
	// AdoptionFrom is a stage id: when set, Adoption counts only the cases that reached that stage
	// (e.g. "opportunity_created", so lead-only cases, which trivially record the lead stages, do
	// not dilute the rate). "" counts every case. An unknown id is a configuration error: Check
	// reports it, and Adoption returns it instead of a result.
	AdoptionFrom string
	// Dimensions are the custom dimensions (ltc.yaml's dimensions:): each filters and groups like
	// a built-in, reading its Attribute from the cases' attributes map. Check reports invalid ones,
	// which New leaves out.
	Dimensions []schema.Dimension
	// MinSample is the n below which a value is flagged LowSample; 0 means MinSample (30).
	MinSample int
	// Logger receives Refresh's step timings (debug level); nil means none.
	Logger *slog.Logger
}

// Engine answers KPI queries over the derived tables that Refresh maintains.
// It is safe for concurrent use; cached results are shared and must not be modified by callers.
type Engine struct {
	db    *schema.DB
	model *schema.Model
	opts  Options

	stagePos map[string]int     // stage id → position in model order
	gates    []gate             // gate stages in model order
	adoptBit int64              // bitmask of Options.AdoptionFrom's stage (0: every case counts)
	dims     []schema.Dimension // built-in then valid custom dimensions, in catalog order
	dimNames []string           // their names
	dimCol   map[string]string  // the whitelist: dimension name → SQL over the derived tables (alias c)
	// fingerprint identifies the model and definitions (modelFingerprint).
	fingerprint string

	cache *resultCache
	fl    flights
	// unsorted counts the cases incremental refreshes rewrote since kpi_case was last sorted (recluster).
	unsorted atomic.Int64
}

// gate is a gate stage and the stage it guards.
type gate struct {
	id       string // the gate stage
	pos      int    // its position
	guards   string // the guarded stage
	guardPos int
	branches []string // branches the gate is expected on (empty: all)
}

// New returns an engine over db for model.
func New(db *schema.DB, model *schema.Model, opts Options) *Engine {
	if opts.SprintDays <= 0 {
		opts.SprintDays = 14
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 512
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{db: db, model: model, opts: opts, stagePos: map[string]int{}, fingerprint: modelFingerprint(model),
		fl: flights{m: map[string]*flightState{}}}
	for i, s := range model.Stages {
		e.stagePos[s.ID] = i
	}
	for i, s := range model.Stages {
		if s.Gate == nil {
			continue
		}
		e.gates = append(e.gates, gate{id: s.ID, pos: i, guards: s.Gate.Guards,
			guardPos: e.stagePos[s.Gate.Guards], branches: s.Branches})
	}
	e.dimCol = dimensionColumns(opts.Dimensions)
	for _, d := range schema.WithCustom(opts.Dimensions) {
		if _, ok := e.dimCol[d.Name]; ok && !slices.Contains(e.dimNames, d.Name) {
			e.dims, e.dimNames = append(e.dims, d), append(e.dimNames, d.Name)
		}
	}
	if p, ok := e.stagePos[opts.AdoptionFrom]; ok {
		e.adoptBit = int64(1) << p
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = defaultCacheBytes
	}
	if opts.CacheSize > 0 {
		e.cache = newResultCache(opts.CacheSize, opts.CacheBytes)
	}
	return e
}

// Check reports configuration errors (wrapping ErrConfig) that New cannot return: an
// Options.AdoptionFrom that is not a stage of the model (also wrapping ErrUnknownStage), or a model
// with more stages than the derived tables support. Call it once after New, where the engine is
// wired; queries that depend on a bad setting return the same error.
func (e *Engine) Check() error {
	var errs []error
	if err := e.checkAdoption(); err != nil {
		errs = append(errs, err)
	}
	for _, err := range schema.CheckDimensions(e.opts.Dimensions) {
		errs = append(errs, fmt.Errorf("%w: %w", ErrConfig, err))
	}
	if n := len(e.model.Stages); n > maxStages {
		errs = append(errs, fmt.Errorf("%w: the model has %d stages, at most %d are supported", ErrConfig, n, maxStages))
	}
	return errors.Join(errs...)
}

// checkAdoption validates Options.AdoptionFrom.
func (e *Engine) checkAdoption() error {
	if e.opts.AdoptionFrom == "" || e.adoptBit != 0 {
		return nil
	}
	return fmt.Errorf("%w: Options.AdoptionFrom: %w: %q", ErrConfig, ErrUnknownStage, e.opts.AdoptionFrom)
}

// Dimensions returns the dimensions scopes may filter and group by: the built-ins, then the
// valid custom ones of Options.Dimensions.
func (e *Engine) Dimensions() []schema.Dimension { return slices.Clone(e.dims) }

// Model returns the process model the engine measures against.
func (e *Engine) Model() *schema.Model { return e.model }

// Now returns the engine's current time (Options.Now): the end of open windows such as a pilot's.
func (e *Engine) Now() time.Time { return e.opts.Now() }

// stage returns the position of a stage id, or an error wrapping ErrUnknownStage.
func (e *Engine) stage(id string) (int, error) {
	p, ok := e.stagePos[id]
	if !ok {
		ids := make([]string, len(e.model.Stages))
		for i, s := range e.model.Stages {
			ids[i] = s.ID
		}
		return 0, fmt.Errorf("%w: %q (stages: %s)", ErrUnknownStage, id, strings.Join(ids, ", "))
	}
	return p, nil
}

// gateByID returns the gate with the given stage id, or an error wrapping ErrUnknownStage.
func (e *Engine) gateByID(id string) (gate, error) {
	for _, g := range e.gates {
		if g.id == id {
			return g, nil
		}
	}
	ids := make([]string, len(e.gates))
	for i, g := range e.gates {
		ids[i] = g.id
	}
	return gate{}, fmt.Errorf("%w: %q is not a gate (gates: %s)", ErrUnknownStage, id, strings.Join(ids, ", "))
}

// check honours a cancelled context and validates a scope (including the series length and the
// sprint anchor) before any work.
func (e *Engine) check(ctx context.Context, s Scope) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.validate(e.dimCol, e.dimNames); err != nil {
		return err
	}
	if s.Grain == GrainSprint && e.opts.SprintAnchor.IsZero() {
		return fmt.Errorf("%w: SPRINT grain needs a sprint anchor", ErrBadScope)
	}
	if s.Grain != GrainNone {
		if _, err := e.buckets(s.Grain, s.From, s.To); err != nil {
			return err
		}
	}
	return nil
}
