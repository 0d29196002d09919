package extract

import "encoding/json"

// JSONArrayDecoder decodes a JSON array that arrives element by element, as Gemini's REST
// :streamGenerateContent sends without alt=sse (`[{...}\n,\r\n{...}]`): each element is emitted
// as soon as its last byte arrives.
type JSONArrayDecoder struct {
	max   int
	sink  Sink
	state int // 0 before '[', 1 expecting element or ']', 2 in element, 3 expecting ',' or ']', 4 after ']'
	elem  []byte
	depth int
	inStr bool
	esc   bool
	first bool
}

// NewJSONArrayDecoder returns a streamed-array decoder whose elements are capped at max bytes.
func NewJSONArrayDecoder(max int, sink Sink) *JSONArrayDecoder {
	return &JSONArrayDecoder{max: max, sink: sink, first: true}
}

// Write feeds bytes.
func (d *JSONArrayDecoder) Write(p []byte) (int, error) {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch d.state {
		case 0:
			if isSpace(c) || (d.first && (c == 0xEF || c == 0xBB || c == 0xBF)) {
				continue
			}
			if c != '[' {
				return 0, errorf(ErrMalformed, "streamed JSON array does not start with '['")
			}
			d.state, d.first = 1, true
		case 1:
			switch {
			case isSpace(c):
			case c == ']' && d.first:
				d.state = 4
			case c == ']' || c == ',':
				return 0, errorf(ErrMalformed, "unexpected %q in streamed JSON array", c)
			default:
				d.state = 2
				d.elem = d.elem[:0]
				d.depth, d.inStr, d.esc = 0, false, false
				i--
			}
		case 3:
			switch {
			case isSpace(c):
			case c == ',':
				d.state, d.first = 1, false
			case c == ']':
				d.state = 4
			default:
				return 0, errorf(ErrMalformed, "unexpected %q between streamed JSON array elements", c)
			}
		case 2:
			if len(d.elem) >= d.max {
				return 0, tooLarge("streamed JSON array element", int64(d.max))
			}
			if d.inStr {
				d.elem = append(d.elem, c)
				switch {
				case d.esc:
					d.esc = false
				case c == '\\':
					d.esc = true
				case c == '"':
					d.inStr = false
					if d.depth == 0 {
						if err := d.emit(); err != nil {
							return 0, err
						}
					}
				}
				continue
			}
			switch c {
			case '"':
				d.inStr = true
				d.elem = append(d.elem, c)
			case '{', '[':
				d.depth++
				d.elem = append(d.elem, c)
			case '}', ']':
				if d.depth == 0 { // end of a scalar element and of the array
					if err := d.emit(); err != nil {
						return 0, err
					}
					i--
					continue
				}
				d.depth--
				d.elem = append(d.elem, c)
				if d.depth == 0 {
					if err := d.emit(); err != nil {
						return 0, err
					}
				}
			case ',', ' ', '\t', '\r', '\n':
				if d.depth == 0 { // end of a scalar element
					if err := d.emit(); err != nil {
						return 0, err
					}
					i--
					continue
				}
				d.elem = append(d.elem, c)
			default:
				d.elem = append(d.elem, c)
			}
		case 4:
			if !isSpace(c) {
				return 0, errorf(ErrMalformed, "data after the end of a streamed JSON array")
			}
		}
	}
	return len(p), nil
}

func (d *JSONArrayDecoder) emit() error {
	d.state = 3
	if !json.Valid(d.elem) {
		return errorf(ErrMalformed, "streamed JSON array element is not JSON")
	}
	return d.sink(Event{Data: append([]byte(nil), d.elem...)})
}

// Close reports an array that ended before its closing bracket.
func (d *JSONArrayDecoder) Close() error {
	switch d.state {
	case 0:
		return nil // empty body
	case 4:
		return nil
	}
	return errorf(ErrMalformed, "streamed JSON array ended before ']'")
}
