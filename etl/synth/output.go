package synth

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // DuckDB driver: writes contracts.parquet
)

// file is a buffered output file.
type file struct {
	f *os.File
	w *bufio.Writer
}

func create(path, header string) (*file, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	if header != "" {
		w.WriteString(header)
		w.WriteByte('\n')
	}
	return &file{f: f, w: w}, nil
}

func (f *file) close() error {
	if f == nil || f.f == nil {
		return nil
	}
	err := f.w.Flush()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	f.f = nil
	return err
}

// outputs are the files written while cases are generated (streamed; nothing is held in memory).
type outputs struct {
	leads, opps, contracts, deliveries, invoices, payments, assignments *file
	contractsTmp                                                        string
	// events[m] is the event file of month m (index from gen.month0), opened lazily.
	events []*file
	paths  []string // event file paths, by month
}

func (g *gen) openOutputs() error {
	o := &outputs{}
	g.out = o
	var err error
	open := func(name, header string) *file {
		if err != nil {
			return nil
		}
		var f *file
		f, err = create(filepath.Join(g.dir, name), header)
		return f
	}
	o.leads = open("leads.csv", "lead_id,created_at,channel,campaign,account_id,owner_id,business_unit,region,segment,status,qualified_at,converted_at,opportunity_id")
	o.opps = open("opportunities.jsonl", "")
	o.contractsTmp = "contracts.tmp.csv"
	o.contracts = open(o.contractsTmp, "contract_id,opportunity_id,signed_at,value,committed_delivery_at")
	o.deliveries = open("deliveries.csv", "delivery_id,contract_id,started_at,accepted_at,csat")
	o.invoices = open("invoices.csv", "invoice_id,contract_id,issued_at,due_at,amount")
	o.payments = open("payments.csv", "payment_id,invoice_id,received_at,amount")
	o.assignments = open("assignments.csv", "opportunity_id,employee_id,role,assigned_at")
	o.events = make([]*file, len(g.spendLeads))
	o.paths = make([]string, len(g.spendLeads))
	return err
}

func (g *gen) closeAll() {
	if g.out == nil {
		return
	}
	o := g.out
	for _, f := range []*file{o.leads, o.opps, o.contracts, o.deliveries, o.invoices, o.payments, o.assignments} {
		f.close()
	}
	for _, f := range o.events {
		f.close()
	}
	os.Remove(filepath.Join(g.dir, o.contractsTmp))
}

// eventFile returns the writer of the month of unix time t.
func (g *gen) eventFile(t int64) (*bufio.Writer, error) {
	tt := time.Unix(t, 0).UTC()
	m := tt.Year()*12 + int(tt.Month()) - 1 - g.month0
	if f := g.out.events[m]; f != nil {
		return f.w, nil
	}
	p := filepath.Join(g.dir, "events", fmt.Sprintf("events-%04d-%02d.csv", tt.Year(), int(tt.Month())))
	f, err := create(p, "case_id,activity,occurred_at,actor_id,actor_role,outcome,template_used")
	if err != nil {
		return nil, err
	}
	g.out.events[m] = f
	g.out.paths[m] = p
	return f.w, nil
}

// finishEvents closes the monthly event files and sorts each by occurred_at, keeping source order
// for equal timestamps (so a case's same-second events stay in process order).
func (g *gen) finishEvents(ctx context.Context) error {
	for m, f := range g.out.events {
		if f == nil {
			continue
		}
		if err := f.close(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := sortEventFile(g.out.paths[m]); err != nil {
			return err
		}
		g.sum.Files++
	}
	return nil
}

func sortEventFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	nl := bytes.IndexByte(data, '\n')
	header, body := data[:nl+1], data[nl+1:]
	type line struct{ key, text []byte }
	lines := make([]line, 0, bytes.Count(body, []byte{'\n'}))
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\n')
		text := body[:i+1]
		body = body[i+1:]
		// occurred_at is the third field.
		c1 := bytes.IndexByte(text, ',')
		c2 := c1 + 1 + bytes.IndexByte(text[c1+1:], ',')
		lines = append(lines, line{key: text[c2+1 : c2+20], text: text})
	}
	slices.SortStableFunc(lines, func(a, b line) int { return bytes.Compare(a.key, b.key) })
	f, err := create(path, "")
	if err != nil {
		return err
	}
	f.w.Write(header)
	for _, l := range lines {
		f.w.Write(l.text)
	}
	return f.close()
}

// writeContractsParquet converts the temporary contracts CSV to contracts.parquet with DuckDB
// (one thread, ordered rows: deterministic output) and removes the CSV.
func (g *gen) writeContractsParquet(ctx context.Context) error {
	tmp := filepath.Join(g.dir, g.out.contractsTmp)
	defer os.Remove(tmp)
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET threads = 1"); err != nil {
		return err
	}
	// COPY takes no bound parameters; the paths are ours (escaped literals), never user data.
	q := fmt.Sprintf(`COPY (
	SELECT * FROM read_csv('%s', header = true, auto_detect = false, columns = {
		'contract_id': 'VARCHAR', 'opportunity_id': 'VARCHAR', 'signed_at': 'TIMESTAMP',
		'value': 'DECIMAL(18,2)', 'committed_delivery_at': 'TIMESTAMP'})
	ORDER BY contract_id
) TO '%s' (FORMAT parquet)`, lit(tmp), lit(filepath.Join(g.dir, "contracts.parquet")))
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("contracts.parquet: %w", err)
	}
	g.sum.Files++
	return nil
}

func lit(s string) string { return strings.ReplaceAll(s, "'", "''") }

// The generator runs on a virtual clock in which every day is 24 hours of work; output timestamps
// compress each virtual day into business hours 08:00–18:00 UTC of the same date. The mapping is
// monotonic and keeps the date, so order, equal timestamps and months are preserved.
func business(t int64) int64 {
	d := t - ((t%day)+day)%day
	return d + 8*3600 + (t-d)*10/24
}

// virtual returns the latest virtual time whose business time is not after real time t.
func virtual(t int64) int64 {
	d := t - ((t%day)+day)%day
	s := t - d
	switch {
	case s < 8*3600:
		return d - 1
	case s >= 18*3600:
		return d + day - 1
	}
	return d + (s-8*3600)*24/10
}

// appendTS appends a virtual time as a business time "2006-01-02 15:04:05" (UTC).
func appendTS(b []byte, t int64) []byte {
	return time.Unix(business(t), 0).UTC().AppendFormat(b, time.DateTime)
}

// appendOptTS appends the timestamp, or nothing when t is 0 or after now.
func appendOptTS(b []byte, t, now int64) []byte {
	if t == 0 || t > now {
		return b
	}
	return appendTS(b, t)
}

// appendMoney appends cents as a decimal with two places.
func appendMoney(b []byte, cents int64) []byte {
	b = strconv.AppendInt(b, cents/100, 10)
	b = append(b, '.')
	c := cents % 100
	return append(b, byte('0'+c/10), byte('0'+c%10))
}

// appendJSONString appends s as a JSON string (the generated values need only quote/backslash escapes).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, fmt.Sprintf(`\u%04x`, c)...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// writeSmall writes a small CSV file from rows built in memory.
func (g *gen) writeSmall(name, header string, rows func(w *bufio.Writer)) error {
	f, err := create(filepath.Join(g.dir, name), header)
	if err != nil {
		return err
	}
	rows(f.w)
	if err := f.close(); err != nil {
		return err
	}
	g.sum.Files++
	return nil
}
