package extract

import (
	"bytes"
	"encoding/json"
	"errors"
)

// ErrMalformed is wrapped by every error about input that does not follow its framing.
var ErrMalformed = errors.New("malformed input")

// NDJSONDecoder splits newline-delimited JSON: one value per line, blank lines skipped, a
// trailing CR removed. Each line must be valid JSON.
type NDJSONDecoder struct {
	max  int
	sink Sink
	line []byte
}

// NewNDJSONDecoder returns an NDJSON decoder whose lines are capped at max bytes.
func NewNDJSONDecoder(max int, sink Sink) *NDJSONDecoder { return &NDJSONDecoder{max: max, sink: sink} }

// Write feeds bytes.
func (d *NDJSONDecoder) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(d.line)+len(p) > d.max {
				return 0, tooLarge("NDJSON line", int64(d.max))
			}
			d.line = append(d.line, p...)
			break
		}
		if len(d.line)+i > d.max {
			return 0, tooLarge("NDJSON line", int64(d.max))
		}
		d.line = append(d.line, p[:i]...)
		p = p[i+1:]
		if err := d.emit(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func (d *NDJSONDecoder) emit() error {
	line := trimSpace(d.line)
	defer func() { d.line = d.line[:0] }()
	if len(line) == 0 {
		return nil
	}
	if !json.Valid(line) {
		return errorf(ErrMalformed, "NDJSON line is not JSON")
	}
	return d.sink(Event{Data: append([]byte(nil), line...)})
}

// Close emits a last line without its newline.
func (d *NDJSONDecoder) Close() error { return d.emit() }
