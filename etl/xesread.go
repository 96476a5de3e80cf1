package etl

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
)

// An XES event log (IEEE 1849) is read as a stream of events, one trace at a time, so a log of
// any size is read in constant memory. Each event becomes one record of attributes: the event's
// own under their XES keys (concept:name, time:timestamp, org:resource, lifecycle:transition, …)
// and its trace's under trace:<key> (trace:concept:name is the case). Nested attributes (lists,
// containers, attributes of attributes) and log-level elements (extensions, globals, classifiers)
// are not read.

// xesAttr is one attribute of an event or trace.
type xesAttr struct{ key, value string }

// xesEvent is one event of a trace, with its position in the decompressed XML.
type xesEvent struct {
	attrs  []xesAttr
	line   int64
	offset int64
}

// xesTrace is one complete trace: its attributes and its events in log order.
type xesTrace struct {
	attrs  []xesAttr
	events []xesEvent
}

// xesBroken is a trace whose XML is malformed: it is quarantined whole, and reading resumes at
// the next <trace>.
type xesBroken struct {
	offset, line int64
	err          error
	raw          string
}

// xesRawLimit bounds the raw text kept of a malformed trace.
const xesRawLimit = 4096

// countingReader is the byte source of the XML decoder (which then does no buffering of its
// own): it counts bytes and newlines, so positions stay absolute after a decoder restarts, and
// keeps the first bytes read since mark (the raw text of a trace, for the quarantine).
type countingReader struct {
	r       *bufio.Reader
	n       int64
	lines   int64
	capture []byte
	prefix  []byte // bytes served before r (a restarted decoder's "<log><trace")
}

func (c *countingReader) ReadByte() (byte, error) {
	if len(c.prefix) > 0 {
		b := c.prefix[0]
		c.prefix = c.prefix[1:]
		return b, nil
	}
	b, err := c.r.ReadByte()
	if err != nil {
		return 0, err
	}
	c.n++
	if b == '\n' {
		c.lines++
	}
	if len(c.capture) < xesRawLimit {
		c.capture = append(c.capture, b)
	}
	return b, nil
}

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		b, err := c.ReadByte()
		if err != nil {
			return i, err
		}
		p[i] = b
	}
	return len(p), nil
}

// mark starts capturing the raw text afresh.
func (c *countingReader) mark() { c.capture = c.capture[:0] }

// skipToTrace consumes input up to the next "<trace" start tag (and reports true) or to the end
// of the log (false).
func (c *countingReader) skipToTrace() (bool, error) {
	const open, end = "<trace", "</log"
	var window []byte
	for {
		b, err := c.r.ReadByte()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		c.n++
		if b == '\n' {
			c.lines++
		}
		window = append(window, b)
		if len(window) > len(open)+1 {
			window = window[1:]
		}
		if bytes.HasSuffix(window, []byte(end)) {
			return false, nil
		}
		// "<trace" followed by a space, > or /: not "<traces" or the like.
		if len(window) == len(open)+1 && bytes.HasPrefix(window, []byte(open)) && bytes.IndexByte([]byte(" \t\r\n>/"), b) >= 0 {
			c.prefix = append([]byte("<log>"), window...)
			return true, nil
		}
	}
}

// xesScanner reads an XES log trace by trace.
type xesScanner struct {
	file io.Closer
	gz   *gzip.Reader
	cr   *countingReader
	dec  *xml.Decoder
	// base and baseLine place the current decoder's offsets and lines in the whole input; inLog
	// says the decoder is inside <log>.
	base, baseLine int64
	inLog          bool
}

// openXES opens a plain or gzip-compressed (by its magic bytes, not its name) XES file.
func openXES(path string) (*xesScanner, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read xes: %w", err)
	}
	br := bufio.NewReaderSize(fh, 1<<20)
	s := &xesScanner{file: fh}
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		if s.gz, err = gzip.NewReader(br); err != nil {
			fh.Close()
			return nil, fmt.Errorf("read xes: gzip: %w", err)
		}
		br = bufio.NewReaderSize(s.gz, 1<<20)
	}
	s.cr = &countingReader{r: br}
	s.dec = newXESDecoder(s.cr)
	return s, nil
}

func newXESDecoder(r *countingReader) *xml.Decoder {
	d := xml.NewDecoder(r)
	d.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		// XES logs are UTF-8 (ProM writes encoding="UTF-8"); a Latin-1 declaration is read as is.
		return input, nil
	}
	return d
}

// Close releases the file.
func (s *xesScanner) Close() error {
	if s.gz != nil {
		s.gz.Close()
	}
	return s.file.Close()
}

// position is the absolute byte offset and line of the decoder's current position.
func (s *xesScanner) position() (int64, int64) {
	line, _ := s.dec.InputPos()
	return s.base + s.dec.InputOffset(), s.baseLine + int64(line)
}

// next returns the next trace, or a malformed one (broken), or io.EOF at the end of the log.
// Malformed XML outside any trace (before the first, in the log's header) fails the file.
func (s *xesScanner) next() (*xesTrace, *xesBroken, error) {
	for {
		s.cr.mark()
		off, line := s.position()
		tok, err := s.dec.Token()
		if errors.Is(err, io.EOF) {
			if !s.inLog {
				return nil, nil, errors.New("read xes: no <log> element")
			}
			return nil, nil, io.EOF
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read xes: malformed XML at byte %d (line %d), outside any trace: %w", off, line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case !s.inLog && t.Name.Local == "log":
				s.inLog = true
			case !s.inLog:
				return nil, nil, fmt.Errorf("read xes: the root element is <%s>, not <log>", t.Name.Local)
			case t.Name.Local == "trace":
				tr, err := s.trace()
				if err == nil {
					return tr, nil, nil
				}
				var syn *xml.SyntaxError
				if !errors.As(err, &syn) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
					return nil, nil, err
				}
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				raw := bytes.TrimSpace(s.cr.capture)
				if !bytes.HasPrefix(raw, []byte("<")) { // the decoder had read the tag's '<' ahead
					raw = append([]byte("<"), raw...)
				}
				bad := &xesBroken{offset: off, line: line, err: err, raw: string(raw)}
				return nil, bad, s.resync()
			default:
				// Log attributes, extensions, globals, classifiers: not read.
				if err := s.dec.Skip(); err != nil {
					return nil, nil, fmt.Errorf("read xes: malformed XML in <%s> at byte %d (line %d), outside any trace: %w", t.Name.Local, off, line, err)
				}
			}
		case xml.EndElement:
			if t.Name.Local == "log" {
				return nil, nil, io.EOF
			}
		}
	}
}

// resync restarts the decoder at the next <trace> after a malformed one (inside a <log> of its
// own, so the decoder sees a well-formed prefix); at the end of the log the next call says EOF.
func (s *xesScanner) resync() error {
	found, err := s.cr.skipToTrace()
	if err != nil {
		return fmt.Errorf("read xes: %w", err)
	}
	if !found {
		s.cr.prefix = []byte("<log></log>")
	}
	// The prefix's "<trace…" bytes were read (and counted) already; "<log>" was not.
	s.base = s.cr.n - int64(len(s.cr.prefix))
	s.baseLine = s.cr.lines - int64(bytes.Count(s.cr.prefix, []byte("\n")))
	s.dec = newXESDecoder(s.cr)
	s.inLog = false
	return nil
}

// trace reads one trace after its start tag, up to its end tag.
func (s *xesScanner) trace() (*xesTrace, error) {
	tr := &xesTrace{}
	for {
		off, line := s.position()
		tok, err := s.dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "event" {
				ev := xesEvent{line: line, offset: off}
				if ev.attrs, err = s.attributes(); err != nil {
					return nil, err
				}
				tr.events = append(tr.events, ev)
				continue
			}
			if a, ok := attribute(t); ok {
				tr.attrs = append(tr.attrs, a)
			}
			if err := s.dec.Skip(); err != nil {
				return nil, err
			}
		case xml.EndElement:
			return tr, nil // </trace> (the decoder checks that it matches)
		}
	}
}

// attributes reads the attributes of one event, up to its end tag.
func (s *xesScanner) attributes() ([]xesAttr, error) {
	var out []xesAttr
	for {
		tok, err := s.dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if a, ok := attribute(t); ok {
				out = append(out, a)
			}
			if err := s.dec.Skip(); err != nil {
				return nil, err
			}
		case xml.EndElement:
			return out, nil
		}
	}
}

// attribute is the key and value of a typed XES attribute element (string, date, int, float,
// boolean, id); lists and containers have no value of their own.
func attribute(t xml.StartElement) (xesAttr, bool) {
	switch t.Name.Local {
	case "string", "date", "int", "float", "boolean", "id":
	default:
		return xesAttr{}, false
	}
	var a xesAttr
	hasKey := false
	for _, at := range t.Attr {
		switch at.Name.Local {
		case "key":
			a.key, hasKey = at.Value, true
		case "value":
			a.value = at.Value
		}
	}
	return a, hasKey
}
