package extract

import (
	"bytes"
	"encoding/json"
)

// Event is one unit a framing decoder produced: an SSE event, an NDJSON line, one element of a
// streamed JSON array, one Google frame element, one event-stream message.
type Event struct {
	// Name is the SSE event field or the event-stream :event-type header; empty otherwise.
	Name string
	// ID is the SSE id field.
	ID string
	// Data is the payload: JSON for every framing except SSE, where it is the joined data lines.
	Data []byte
	// Done marks the OpenAI-style `data: [DONE]` terminator (Data is empty then).
	Done bool
	// Retry is the SSE retry field in milliseconds when the event set one, else 0.
	Retry int
}

// Decoder is a push decoder for one framing: Write feeds bytes as they arrive (any split),
// Close flushes the last unit and reports a truncated one. Both return an error wrapping
// ErrTooLarge when a unit exceeds Limits.MaxEvent. Decoders call their sink for every complete
// unit; an error from the sink stops the decoder and is returned.
type Decoder interface {
	Write(p []byte) (int, error)
	Close() error
}

// Sink receives decoded events.
type Sink func(Event) error

// Framing names a wire framing.
type Framing string

// Framings.
const (
	FramingJSON         Framing = "json"            // one JSON value, read whole (bounded by MaxBody)
	FramingSSE          Framing = "sse"             // text/event-stream
	FramingNDJSON       Framing = "ndjson"          // one JSON value per line
	FramingJSONArray    Framing = "json-array"      // a JSON array streamed element by element
	FramingGoogleFrames Framing = "google-frames"   // )]}' + <utf16 length>\n<json> frames
	FramingEventStream  Framing = "aws-eventstream" // AWS binary event-stream messages
)

// NewDecoder returns the push decoder of a framing.
func NewDecoder(f Framing, lim Limits, sink Sink) (Decoder, bool) {
	lim = lim.withDefaults()
	switch f {
	case FramingSSE:
		return NewSSEDecoder(lim.MaxEvent, sink), true
	case FramingNDJSON:
		return NewNDJSONDecoder(lim.MaxEvent, sink), true
	case FramingJSONArray:
		return NewJSONArrayDecoder(lim.MaxEvent, sink), true
	case FramingGoogleFrames:
		return NewGoogleFrameDecoder(lim.MaxEvent, sink), true
	case FramingEventStream:
		return NewEventStreamDecoder(lim.MaxEvent, sink), true
	case FramingJSON:
		return newWholeDecoder(lim.MaxBody, sink), true
	}
	return nil, false
}

// wholeDecoder buffers one JSON value up to a cap and emits it on Close.
type wholeDecoder struct {
	buf  []byte
	max  int64
	sink Sink
}

func newWholeDecoder(max int64, sink Sink) *wholeDecoder { return &wholeDecoder{max: max, sink: sink} }

func (d *wholeDecoder) Write(p []byte) (int, error) {
	if int64(len(d.buf)+len(p)) > d.max {
		return 0, tooLarge("JSON body", d.max)
	}
	d.buf = append(d.buf, p...)
	return len(p), nil
}

// Close emits the value. A body that is not one JSON value but JSON lines is emitted line by
// line, so a stream sniffed as JSON from its first bytes reads the same as when sniffed as
// NDJSON from all of them.
func (d *wholeDecoder) Close() error {
	body := trimSpace(d.buf)
	if len(body) == 0 {
		return nil
	}
	if json.Valid(body) {
		return d.sink(Event{Data: body})
	}
	lines := splitLines(body)
	if first := trimSpace(lines[0]); !json.Valid(first) {
		return errorf(ErrMalformed, "body is not JSON")
	}
	for _, l := range lines {
		if l = trimSpace(l); len(l) == 0 {
			continue
		}
		if !json.Valid(l) {
			return errorf(ErrMalformed, "NDJSON line is not JSON")
		}
		if err := d.sink(Event{Data: l}); err != nil {
			return err
		}
	}
	return nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Sniff guesses the framing of a body from its first bytes, for captures without a
// Content-Type. It returns "" when nothing fits.
func Sniff(head []byte) Framing {
	b := head
	for len(b) > 0 && (isSpace(b[0]) || b[0] == 0xEF || b[0] == 0xBB || b[0] == 0xBF) {
		b = b[1:]
	}
	switch {
	case len(b) == 0:
		return ""
	case hasPrefix(b, ")]}'"):
		return FramingGoogleFrames
	case hasPrefix(b, "data:") || hasPrefix(b, "event:") || hasPrefix(b, "id:") || hasPrefix(b, "retry:") || b[0] == ':':
		return FramingSSE
	case b[0] >= '0' && b[0] <= '9' && len(head) >= 12 && looksEventStream(head):
		return FramingEventStream
	case b[0] == '[':
		return FramingJSONArray
	case b[0] == '{':
		// NDJSON when the first line is a whole JSON value and another line follows.
		if i := bytes.IndexByte(b, '\n'); i >= 0 && json.Valid(trimSpace(b[:i])) && len(trimSpace(b[i:])) > 0 {
			return FramingNDJSON
		}
		return FramingJSON
	}
	if len(head) >= 12 && looksEventStream(head) {
		return FramingEventStream
	}
	return ""
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		out = append(out, b[:i])
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	return out
}
