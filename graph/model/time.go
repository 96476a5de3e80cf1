package model

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalTime writes the Time scalar: RFC 3339 in UTC (null for the zero time).
func MarshalTime(t time.Time) graphql.Marshaler {
	if t.IsZero() {
		return graphql.Null
	}
	return graphql.WriterFunc(func(w io.Writer) {
		io.WriteString(w, strconv.Quote(t.UTC().Format(time.RFC3339Nano)))
	})
}

// timeLayouts are the forms UnmarshalTime accepts; those without an offset are UTC.
var timeLayouts = []string{time.RFC3339Nano, time.DateOnly, "2006-01-02T15:04:05", time.DateTime}

// UnmarshalTime reads the Time scalar: an RFC 3339 time (offsets honoured), a date YYYY-MM-DD
// (midnight UTC), or YYYY-MM-DDThh:mm:ss (UTC). The error echoes the value.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("time %v: want a string, e.g. \"2026-01-02\" or \"2026-01-02T15:04:05Z\"", v)
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is neither a date (YYYY-MM-DD) nor an RFC 3339 time (e.g. 2026-01-02T15:04:05Z)", s)
}
