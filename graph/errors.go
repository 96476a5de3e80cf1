package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ltc-analytics/ltc/initiative"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// Code is a stable error code, sent to clients as extensions.code.
type Code string

// The API's error codes. gqlgen's own request errors keep their codes (GRAPHQL_PARSE_FAILED,
// GRAPHQL_VALIDATION_FAILED, PERSISTED_QUERY_NOT_FOUND), except the complexity limit: TOO_COMPLEX.
const (
	// CodeBadScope: a KPI scope (time range or filter) is invalid.
	CodeBadScope Code = "BAD_SCOPE"
	// CodeUnknownStage: a stage id is not in the process model.
	CodeUnknownStage Code = "UNKNOWN_STAGE"
	// CodeBadArgument: an argument is out of range or malformed (page size, cursor, …).
	CodeBadArgument Code = "BAD_ARGUMENT"
	// CodeBadInitiative: an initiative definition is invalid; the message says why and
	// extensions.reasons names the common mistakes (see RegisterReason).
	CodeBadInitiative Code = "BAD_INITIATIVE"
	// CodeNotConfigured: the process model does not mark a milestone the KPI is defined on (the
	// message names it); never a silent 0.
	CodeNotConfigured Code = "NOT_CONFIGURED"
	// CodeNotFound: the thing named by an argument (e.g. an initiative id) does not exist.
	CodeNotFound Code = "NOT_FOUND"
	// CodeReadOnly: a mutation reached a server whose warehouse is read-only (a replica).
	CodeReadOnly Code = "READ_ONLY"
	// CodeTooComplex: the operation exceeds the complexity or depth limit.
	CodeTooComplex Code = "TOO_COMPLEX"
	// CodeTimeout: the request ran past its deadline.
	CodeTimeout Code = "TIMEOUT"
	// CodeBadRequest: the request itself is unusable — a body that is not one JSON object (a
	// batch, malformed JSON), an APQ hash that does not match its query.
	CodeBadRequest Code = "BAD_REQUEST"
	// CodeInternal: anything else; the message is generic and the cause is logged.
	CodeInternal Code = "INTERNAL"
)

// CodedError is an error that carries its API code; resolvers return it for argument errors.
type CodedError struct {
	Code Code
	Err  error
}

func (e *CodedError) Error() string { return e.Err.Error() }
func (e *CodedError) Unwrap() error { return e.Err }

// Errorf returns a *CodedError with a formatted message.
func Errorf(code Code, format string, args ...any) error {
	return &CodedError{Code: code, Err: fmt.Errorf(format, args...)}
}

// ErrorCodes maps sentinel errors (matched with errors.Is) to codes: the one table that decides what
// code a client sees. Build it in cmd/ltc with NewErrorCodes and register other packages' sentinels,
// e.g. NewErrorCodes().Register(kpi.ErrBadScope, CodeBadScope). It is not safe to Register while
// serving; it is read-only once passed to NewHandler.
type ErrorCodes struct {
	entries []errorCode
	reasons []errorCode
}

type errorCode struct {
	sentinel error
	code     Code
}

// KPIErrorCodes returns NewErrorCodes with the KPI engine's sentinels: the table of the KPI API.
// ErrBadCursor also wraps ErrBadScope; earlier registrations win, so it comes first.
func KPIErrorCodes() *ErrorCodes {
	return NewErrorCodes().
		Register(kpi.ErrBadCursor, CodeBadArgument).
		Register(kpi.ErrBadScope, CodeBadScope).
		Register(kpi.ErrUnknownStage, CodeUnknownStage).
		Register(kpi.ErrNotConfigured, CodeNotConfigured).
		Register(initiative.ErrInitiativeNotFound, CodeNotFound).
		Register(initiative.ErrBadInitiative, CodeBadInitiative).
		RegisterReason(initiative.ErrOverlappingWindows, "OVERLAPPING_WINDOWS").
		RegisterReason(initiative.ErrUnknownUnit, "UNKNOWN_UNIT").
		RegisterReason(initiative.ErrBadSprint, "BAD_SPRINT").
		RegisterReason(initiative.ErrWaveBeforeStart, "WAVE_BEFORE_START")
}

// NewErrorCodes returns the table with this package's defaults: the schema bookkeeping argument errors
// are BAD_ARGUMENT and context deadlines are TIMEOUT.
func NewErrorCodes() *ErrorCodes {
	return (&ErrorCodes{}).
		Register(schema.ErrBadCursor, CodeBadArgument).
		Register(schema.ErrBadPageSize, CodeBadArgument).
		Register(context.DeadlineExceeded, CodeTimeout)
}

// Register maps errors matching sentinel to code and returns c; earlier registrations win.
func (c *ErrorCodes) Register(sentinel error, code Code) *ErrorCodes {
	c.entries = append(c.entries, errorCode{sentinel, code})
	return c
}

// RegisterReason adds reason to extensions.reasons of every error matching sentinel, beside its
// code: a machine-readable name for one of several specific problems an error may carry (e.g.
// BAD_INITIATIVE with reasons OVERLAPPING_WINDOWS and BAD_SPRINT). Reasons are listed in
// registration order. It returns c.
func (c *ErrorCodes) RegisterReason(sentinel error, reason string) *ErrorCodes {
	c.reasons = append(c.reasons, errorCode{sentinel, Code(reason)})
	return c
}

// Reasons returns the registered reasons err matches, in registration order (nil for none).
func (c *ErrorCodes) Reasons(err error) []string {
	var out []string
	for _, r := range c.reasons {
		if errors.Is(err, r.sentinel) {
			out = append(out, string(r.code))
		}
	}
	return out
}

// Lookup returns the code for err: a *CodedError's own code, else the first registered sentinel it
// matches, else INTERNAL.
func (c *ErrorCodes) Lookup(err error) Code {
	if ce, ok := errors.AsType[*CodedError](err); ok {
		return ce.Code
	}
	for _, e := range c.entries {
		if errors.Is(err, e.sentinel) {
			return e.code
		}
	}
	return CodeInternal
}

// presenter returns the gqlgen error presenter that applies the table. Errors gqlgen raises itself
// (parse, validation, persisted queries) keep their code; COMPLEXITY_LIMIT_EXCEEDED becomes
// TOO_COMPLEX; an INTERNAL error's message is replaced and the cause logged.
func (c *ErrorCodes) presenter(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		if gqlErr.Err == nil {
			// Raised by gqlgen or an extension, already a *gqlerror.Error.
			if gqlErr.Extensions["code"] == "COMPLEXITY_LIMIT_EXCEEDED" {
				errcode.Set(gqlErr, string(CodeTooComplex))
			}
			if gqlErr.Extensions["code"] != nil {
				return gqlErr
			}
			if graphql.GetFieldContext(ctx) == nil {
				// gqlgen's own request errors carry no code: an undecodable or batched body, an
				// APQ hash mismatch. The client's mistake; its message may quote the whole body.
				gqlErr.Message = truncate(gqlErr.Message, maxMessageBytes)
				logger.InfoContext(ctx, "graphql bad request", "err", gqlErr.Message)
				errcode.Set(gqlErr, string(CodeBadRequest))
				return gqlErr
			}
		}
		code := c.Lookup(err)
		if code == CodeInternal && argumentError(ctx) {
			// An argument gqlgen could not coerce (e.g. a Time that is not RFC 3339): the client's mistake.
			code = CodeBadArgument
		}
		if code == CodeInternal && ctx.Err() != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			// The driver may report an interrupted query with its own error.
			code = CodeTimeout
		}
		switch code {
		default:
			// A client's error: its message without the Go operations it was wrapped with.
			gqlErr.Message = goOps.ReplaceAllString(gqlErr.Message, "")
		case CodeInternal:
			if _, coded := errors.AsType[*CodedError](err); !coded { // coded INTERNAL errors (panics) are logged already
				logger.ErrorContext(ctx, "graphql error", "path", gqlErr.Path.String(), "err", err)
			}
			gqlErr.Message = "internal error"
		case CodeTimeout:
			gqlErr.Message = "request timed out"
		}
		errcode.Set(gqlErr, string(code))
		if code != CodeInternal && code != CodeTimeout {
			if reasons := c.Reasons(err); len(reasons) > 0 {
				gqlErr.Extensions["reasons"] = reasons
			}
		}
		return gqlErr
	}
}

// goOps matches the "pkg.Func(args): " prefixes errors are wrapped with (STYLE 7), which name Go
// code, not the client's mistake.
var goOps = regexp.MustCompile(`\b[a-z]+\.(?:\(\*?[A-Z]\w*\)\.)?[A-Z]\w*(?:\([^()]*\))?: `)

// maxMessageBytes bounds a bad request's message (sent and logged): gqlgen quotes the whole body.
const maxMessageBytes = 1 << 10

// truncate shortens s to at most max bytes (on a rune boundary), marking the cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = "… (truncated)"
	cut := max - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// argumentError reports whether the error being presented was raised while gqlgen coerced the
// field's arguments: the field takes arguments but its context has none yet (gqlgen sets Args, to a
// non-nil map, before calling the resolver).
func argumentError(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	return fc != nil && fc.Field.Field != nil && len(fc.Field.Arguments) > 0 && fc.Args == nil
}

// recoverFunc logs a resolver panic with its stack and turns it into an INTERNAL error.
func recoverFunc(logger *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		path := ""
		if fc := graphql.GetFieldContext(ctx); fc != nil {
			path = fc.Path().String()
		}
		logger.ErrorContext(ctx, "graphql panic", "path", path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return &CodedError{Code: CodeInternal, Err: errors.New("internal error")}
	}
}
