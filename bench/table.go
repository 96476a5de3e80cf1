package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// table is the markdown table the suite prints: one row per measurement, one column per size.
type table struct {
	sizes   []string
	rows    []string
	cells   map[string]map[string]string
	targets map[string]string
}

func newTable(sizes []string) *table {
	return &table{sizes: sizes, cells: map[string]map[string]string{}, targets: map[string]string{}}
}

// set records a cell, adding the row on first use.
func (t *table) set(row, size, v string) {
	if t.cells[row] == nil {
		t.cells[row] = map[string]string{}
		t.rows = append(t.rows, row)
	}
	t.cells[row][size] = v
}

// target records a row's target (DESIGN §6).
func (t *table) target(row, v string) { t.targets[row] = v }

func (t *table) print(w io.Writer) {
	fmt.Fprintf(w, "| measurement | %s | target |\n|---|%s---|\n", strings.Join(t.sizes, " | "), strings.Repeat("--:|", len(t.sizes)))
	for _, r := range t.rows {
		cells := make([]string, len(t.sizes))
		for i, s := range t.sizes {
			cells[i] = t.cells[r][s]
			if cells[i] == "" {
				cells[i] = "–"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", r, strings.Join(cells, " | "), t.targets[r])
	}
}

// median of durations.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

// ms formats a duration in milliseconds with sensible precision.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 1:
		return fmt.Sprintf("%.3f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	case v < 10000:
		return fmt.Sprintf("%.0f ms", v)
	default:
		return fmt.Sprintf("%.1f s", v/1000)
	}
}

// secs formats a duration in seconds.
func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// ratio formats a/b, marked ✓ or ✗ against a maximum (0: no mark).
func ratio(a, b time.Duration, max float64) string {
	if b == 0 {
		return "–"
	}
	r := float64(a) / float64(b)
	mark := ""
	if max > 0 {
		mark = " ✓"
		if r > max {
			mark = " ✗"
		}
	}
	return fmt.Sprintf("%.2f%s", r, mark)
}

// si formats a count with k/M suffixes.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}
