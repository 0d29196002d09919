package extract

import (
	"encoding/json"
)

// GoogleFrameDecoder decodes the length-prefixed frames of Google's web RPCs (Gemini web
// StreamGenerate, batchexecute): an optional `)]}'` anti-JSON-hijacking prefix, then frames
// `<length>\n<json>\n` where length counts UTF-16 code units (JavaScript string length) from the
// byte after the digits, so it includes both newlines. A frame's JSON is usually an array of
// envelopes such as ["wrb.fr", null, "<inner json>"]; each element of an array frame is emitted
// as one Event, a non-array frame as one Event.
type GoogleFrameDecoder struct {
	max     int
	sink    Sink
	state   int // 0 prefix, 1 between frames, 2 length digits, 3 frame body, 4 done
	prefix  []byte
	digits  int
	length  int
	units   int
	pending int // continuation bytes still owed by the current UTF-8 sequence
	frame   []byte
}

// NewGoogleFrameDecoder returns a decoder whose frames are capped at max bytes.
func NewGoogleFrameDecoder(max int, sink Sink) *GoogleFrameDecoder {
	return &GoogleFrameDecoder{max: max, sink: sink}
}

const googlePrefix = ")]}'"

// Write feeds bytes.
func (d *GoogleFrameDecoder) Write(p []byte) (int, error) {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch d.state {
		case 0:
			if len(d.prefix) == 0 && isSpace(c) {
				continue
			}
			d.prefix = append(d.prefix, c)
			if len(d.prefix) < len(googlePrefix) && googlePrefix[len(d.prefix)-1] == c {
				continue
			}
			if string(d.prefix) == googlePrefix {
				d.state = 1
				continue
			}
			// No prefix: replay what was held as frame data.
			held := d.prefix
			d.prefix = nil
			d.state = 1
			if _, err := d.Write(held); err != nil {
				return 0, err
			}
		case 1:
			if isSpace(c) {
				continue
			}
			if c < '0' || c > '9' {
				return 0, errorf(ErrMalformed, "Google frame does not start with a length")
			}
			d.state, d.length, d.digits = 2, 0, 0
			i--
		case 2:
			if c >= '0' && c <= '9' {
				d.digits++
				d.length = d.length*10 + int(c-'0')
				if d.digits > 9 || d.length > d.max {
					return 0, tooLarge("Google frame", int64(d.max))
				}
				continue
			}
			if c != '\n' {
				return 0, errorf(ErrMalformed, "Google frame length is not followed by a newline")
			}
			// The newline is the frame's first unit: fall through with it.
			d.state, d.units, d.pending, d.frame = 3, 0, 0, d.frame[:0]
			fallthrough
		case 3:
			if d.units >= d.length && d.pending == 0 {
				if err := d.emit(); err != nil {
					return 0, err
				}
				i--
				continue
			}
			if len(d.frame) >= d.max {
				return 0, tooLarge("Google frame", int64(d.max))
			}
			d.frame = append(d.frame, c)
			switch {
			case c&0xC0 == 0x80: // continuation byte
				if d.pending > 0 {
					d.pending--
				}
			case c >= 0xF0:
				d.units += 2
				d.pending = 3
			case c >= 0xE0:
				d.units++
				d.pending = 2
			case c >= 0xC0:
				d.units++
				d.pending = 1
			default:
				d.units++
				d.pending = 0
			}
			if d.units > d.length {
				return 0, errorf(ErrMalformed, "Google frame length splits a character")
			}
			if d.units == d.length && d.pending == 0 {
				if err := d.emit(); err != nil {
					return 0, err
				}
			}
		}
	}
	return len(p), nil
}

func (d *GoogleFrameDecoder) emit() error {
	d.state = 1
	body := trimSpace(d.frame)
	if len(body) == 0 {
		return nil
	}
	var elems []json.RawMessage
	if body[0] == '[' {
		if err := json.Unmarshal(body, &elems); err != nil {
			return errorf(ErrMalformed, "Google frame is not JSON")
		}
		for _, e := range elems {
			if err := d.sink(Event{Data: append([]byte(nil), e...)}); err != nil {
				return err
			}
		}
		return nil
	}
	if !json.Valid(body) {
		return errorf(ErrMalformed, "Google frame is not JSON")
	}
	return d.sink(Event{Data: append([]byte(nil), body...)})
}

// Close reports a frame cut short.
func (d *GoogleFrameDecoder) Close() error {
	switch d.state {
	case 0:
		if len(d.prefix) > 0 && string(d.prefix) != googlePrefix {
			return errorf(ErrMalformed, "body is not Google frames")
		}
	case 2:
		return errorf(ErrMalformed, "Google frame length without a frame")
	case 3:
		if d.units >= d.length && d.pending == 0 {
			return d.emit()
		}
		return errorf(ErrMalformed, "Google frame cut short (%d of %d UTF-16 units)", d.units, d.length)
	}
	return nil
}
