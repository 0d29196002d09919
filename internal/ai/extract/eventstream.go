package extract

import (
	"encoding/binary"
	"hash/crc32"
)

// EventStreamDecoder decodes AWS event-stream messages (application/vnd.amazon.eventstream), the
// framing of Bedrock ConverseStream and InvokeModelWithResponseStream: a 12-byte prelude (total
// length, headers length, CRC32 of the first 8 bytes), typed headers, the payload, and a CRC32 of
// everything before it. Both CRCs are verified. Each message is emitted with Name set to its
// :event-type header (or :exception-type / :error-code for exceptions) and Data to its payload.
type EventStreamDecoder struct {
	max  int
	sink Sink
	buf  []byte
	need int // total length of the message being read, 0 while reading the prelude
}

// NewEventStreamDecoder returns a decoder whose messages are capped at max bytes.
func NewEventStreamDecoder(max int, sink Sink) *EventStreamDecoder {
	return &EventStreamDecoder{max: max, sink: sink}
}

const (
	esPrelude = 12
	esMinimum = 16 // prelude + message CRC
)

// looksEventStream reports whether head starts with a valid event-stream prelude.
func looksEventStream(head []byte) bool {
	if len(head) < esPrelude {
		return false
	}
	total := binary.BigEndian.Uint32(head[0:4])
	hdrs := binary.BigEndian.Uint32(head[4:8])
	return total >= esMinimum && hdrs <= total-esMinimum && crc32.ChecksumIEEE(head[:8]) == binary.BigEndian.Uint32(head[8:12])
}

// Write feeds bytes.
func (d *EventStreamDecoder) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		want := esPrelude
		if d.need > 0 {
			want = d.need
		}
		take := want - len(d.buf)
		if take > len(p) {
			take = len(p)
		}
		d.buf = append(d.buf, p[:take]...)
		p = p[take:]
		if len(d.buf) < want {
			break
		}
		if d.need == 0 {
			total := binary.BigEndian.Uint32(d.buf[0:4])
			hdrs := binary.BigEndian.Uint32(d.buf[4:8])
			if crc32.ChecksumIEEE(d.buf[:8]) != binary.BigEndian.Uint32(d.buf[8:12]) {
				return 0, errorf(ErrMalformed, "event-stream prelude CRC mismatch")
			}
			if total < esMinimum || hdrs > total-esMinimum {
				return 0, errorf(ErrMalformed, "event-stream message lengths are inconsistent")
			}
			if int64(total) > int64(d.max) {
				return 0, tooLarge("event-stream message", int64(d.max))
			}
			d.need = int(total)
			continue
		}
		if err := d.message(); err != nil {
			return 0, err
		}
		d.buf, d.need = d.buf[:0], 0
	}
	return n, nil
}

func (d *EventStreamDecoder) message() error {
	m := d.buf
	end := len(m) - 4
	if crc32.ChecksumIEEE(m[:end]) != binary.BigEndian.Uint32(m[end:]) {
		return errorf(ErrMalformed, "event-stream message CRC mismatch")
	}
	hdrLen := int(binary.BigEndian.Uint32(m[4:8]))
	headers, err := parseEventStreamHeaders(m[esPrelude : esPrelude+hdrLen])
	if err != nil {
		return err
	}
	name := headers[":event-type"]
	switch headers[":message-type"] {
	case "exception":
		name = headers[":exception-type"]
	case "error":
		name = headers[":error-code"]
	}
	payload := append([]byte(nil), m[esPrelude+hdrLen:end]...)
	return d.sink(Event{Name: name, Data: payload})
}

// parseEventStreamHeaders returns the string-valued headers; other types are skipped after
// their length is checked.
func parseEventStreamHeaders(b []byte) (map[string]string, error) {
	out := map[string]string{}
	bad := func() error { return errorf(ErrMalformed, "event-stream header block is malformed") }
	for len(b) > 0 {
		nl := int(b[0])
		if nl == 0 || len(b) < 1+nl+1 {
			return nil, bad()
		}
		name := string(b[1 : 1+nl])
		typ := b[1+nl]
		b = b[2+nl:]
		var size int
		switch typ {
		case 0, 1: // bool true, false
			size = 0
		case 2: // byte
			size = 1
		case 3: // short
			size = 2
		case 4: // int
			size = 4
		case 5, 8: // long, timestamp
			size = 8
		case 9: // uuid
			size = 16
		case 6, 7: // bytes, string: 2-byte length
			if len(b) < 2 {
				return nil, bad()
			}
			l := int(binary.BigEndian.Uint16(b))
			if len(b) < 2+l {
				return nil, bad()
			}
			if typ == 7 {
				out[name] = string(b[2 : 2+l])
			}
			b = b[2+l:]
			continue
		default:
			return nil, bad()
		}
		if len(b) < size {
			return nil, bad()
		}
		b = b[size:]
	}
	return out, nil
}

// Close reports a message cut short.
func (d *EventStreamDecoder) Close() error {
	if len(d.buf) > 0 {
		return errorf(ErrMalformed, "event-stream message cut short")
	}
	return nil
}
