package graph

import (
	"errors"

	"github.com/ltc-analytics/ltc/graph/model"
	"github.com/ltc-analytics/ltc/schema"
)

// pageSize validates a connection's first argument (nil means def).
func pageSize(first *int, def int) (int, error) {
	if first == nil {
		return def, nil
	}
	if *first < 0 || *first > schema.MaxPageSize {
		return 0, Errorf(CodeBadArgument, "first must be between 0 and %d, got %d", schema.MaxPageSize, *first)
	}
	return *first, nil
}

// argError turns a listing's malformed-cursor error into a BAD_ARGUMENT that names the argument.
func argError(err error, after *string) error {
	if errors.Is(err, schema.ErrBadCursor) {
		return Errorf(CodeBadArgument, "after: %q is not a cursor of this listing", deref(after))
	}
	return err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr[T any](v T) *T { return &v }

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func pageInfo(hasNext bool, end string) *model.PageInfo {
	return &model.PageInfo{HasNextPage: hasNext, EndCursor: nonEmpty(end)}
}

func runConnection(p schema.RunPage) *model.EtlRunConnection {
	c := &model.EtlRunConnection{
		Edges:      make([]*model.EtlRunEdge, 0, len(p.Edges)),
		PageInfo:   pageInfo(p.HasNextPage, p.EndCursor),
		TotalCount: p.TotalCount,
	}
	for _, e := range p.Edges {
		r := e.Run
		n := &model.EtlRun{
			RunID:           int(r.RunID),
			Job:             r.Job,
			Status:          r.Status,
			StartedAt:       r.StartedAt,
			FinishedAt:      r.FinishedAt,
			Files:           r.Files,
			RowsRead:        int(r.RowsRead),
			RowsLoaded:      int(r.RowsLoaded),
			RowsQuarantined: int(r.RowsQuarantined),
			RowsDuplicate:   int(r.RowsDuplicate),
			RowsConflict:    int(r.RowsConflict),
			Error:           nonEmpty(r.Error),
		}
		if r.DurationMS != nil {
			n.DurationSeconds = ptr(float64(*r.DurationMS) / 1000)
		}
		c.Edges = append(c.Edges, &model.EtlRunEdge{Cursor: e.Cursor, Node: n})
	}
	return c
}

func quarantineConnection(p schema.QuarantinePage) *model.QuarantineConnection {
	c := &model.QuarantineConnection{
		Edges:      make([]*model.QuarantineEdge, 0, len(p.Edges)),
		PageInfo:   pageInfo(p.HasNextPage, p.EndCursor),
		TotalCount: p.TotalCount,
	}
	for _, e := range p.Edges {
		r := e.Row
		n := &model.QuarantinedRow{
			RunID:         int(r.RunID),
			Job:           r.Job,
			File:          r.File,
			Reason:        r.Reason,
			Raw:           nonEmpty(r.Raw),
			QuarantinedAt: r.QuarantinedAt,
		}
		if r.Line != nil {
			n.Line = ptr(int(*r.Line))
		}
		c.Edges = append(c.Edges, &model.QuarantineEdge{Cursor: e.Cursor, Node: n})
	}
	return c
}

func freshness(f schema.Freshness) *model.DataFreshness {
	out := &model.DataFreshness{
		LastSuccessAt: f.LastSuccessAt,
		DataVersion:   int(f.DataVersion),
		UpdatedAt:     f.UpdatedAt,
		Jobs:          make([]*model.JobFreshness, 0, len(f.Jobs)),
	}
	for _, j := range f.Jobs {
		out.Jobs = append(out.Jobs, &model.JobFreshness{
			Job: j.Job, LastSuccessAt: j.LastSuccessAt, LastRunAt: j.LastRunAt, LastStatus: j.LastStatus,
		})
	}
	return out
}
