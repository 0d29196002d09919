package extract

import (
	"bytes"
	"strconv"
)

// SSEDecoder decodes text/event-stream (W3C Server-Sent Events): field lines `event:`, `data:`,
// `id:`, `retry:`; several data lines joined with "\n"; a blank line dispatches the event;
// lines starting with ':' are comments; CR, LF and CRLF all end a line. `data: [DONE]` is
// reported as an Event with Done set.
type SSEDecoder struct {
	max     int
	sink    Sink
	line    []byte // the current, unterminated line
	lastCR  bool   // the previous chunk ended with CR: a following LF belongs to it
	name    string
	id      string
	data    []byte
	hasData bool
	retry   int
}

// NewSSEDecoder returns an SSE decoder whose lines and events are capped at max bytes.
func NewSSEDecoder(max int, sink Sink) *SSEDecoder { return &SSEDecoder{max: max, sink: sink} }

// Write feeds bytes.
func (d *SSEDecoder) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if d.lastCR {
			d.lastCR = false
			if p[0] == '\n' {
				p = p[1:]
				continue
			}
		}
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			if len(d.line)+len(p) > d.max {
				return 0, tooLarge("SSE line", int64(d.max))
			}
			d.line = append(d.line, p...)
			break
		}
		if len(d.line)+i > d.max {
			return 0, tooLarge("SSE line", int64(d.max))
		}
		d.line = append(d.line, p[:i]...)
		if p[i] == '\r' {
			d.lastCR = true
		}
		p = p[i+1:]
		if err := d.processLine(d.line); err != nil {
			return 0, err
		}
		d.line = d.line[:0]
	}
	return n, nil
}

func (d *SSEDecoder) processLine(line []byte) error {
	if len(line) == 0 {
		return d.dispatch()
	}
	if line[0] == ':' {
		return nil // comment
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "event":
		d.name = string(value)
	case "data":
		if d.hasData {
			if len(d.data)+1+len(value) > d.max {
				return tooLarge("SSE event", int64(d.max))
			}
			d.data = append(d.data, '\n')
		}
		d.data = append(d.data, value...)
		d.hasData = true
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			d.id = string(value)
		}
	case "retry":
		if n, err := strconv.Atoi(string(value)); err == nil && n >= 0 {
			d.retry = n
		}
	}
	return nil
}

func (d *SSEDecoder) dispatch() error {
	if !d.hasData {
		d.name, d.retry = "", 0
		return nil
	}
	ev := Event{Name: d.name, ID: d.id, Retry: d.retry}
	if string(bytes.TrimSpace(d.data)) == "[DONE]" {
		ev.Done = true
	} else {
		ev.Data = append([]byte(nil), d.data...)
	}
	d.name, d.data, d.hasData, d.retry = "", d.data[:0], false, 0
	return d.sink(ev)
}

// Close dispatches a final event that lacked its blank line (streams cut by the server often
// end so).
func (d *SSEDecoder) Close() error {
	if len(d.line) > 0 {
		if err := d.processLine(d.line); err != nil {
			return err
		}
		d.line = d.line[:0]
	}
	return d.dispatch()
}
