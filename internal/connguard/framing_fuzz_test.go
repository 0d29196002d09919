package connguard

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The model below is an independent, literal reading of RFC 9112 for FuzzFraming: it works on
// a whole buffer with strings and regular expressions, where the framer is a byte-at-a-time
// state machine, and shares no code with it. It reads requests one after another and says
// where each ends, or how the first bad one is bad.

// Regular expressions work on UTF-8, so the model first maps every byte of obs-text
// (0x80-0xFF) to 0x01, which the expressions accept exactly where obs-text is allowed (a real
// 0x01, a control character, becomes 0x00, allowed nowhere).
const (
	tchar    = "!#$%&'*+.^_`|~0-9A-Za-z-"
	obsText  = `\x01`
	fieldVal = `[\t \x21-\x7e` + obsText + `]*`
)

var (
	requestLineRE = regexp.MustCompile(`^[` + tchar + `]{1,32} [\x21-\x7e]+ HTTP/1\.[01]$`)
	fieldLineRE   = regexp.MustCompile(`^([` + tchar + `]+):(` + fieldVal + `)$`)
	chunkLineRE   = regexp.MustCompile(`^[0-9A-Fa-f]{1,16}(;[` + tchar + `]+(=([` + tchar + `]+|"([\t \x21\x23-\x5b\x5d-\x7e` +
		obsText + `]|\\[\t \x21-\x7e` + obsText + `])*"))?)*$`)
)

// asciiOnly maps obs-text to 0x01 (and 0x01 to 0x00), keeping the length.
func asciiOnly(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 0x80:
			b[i] = 0x01
		case c == 0x01:
			b[i] = 0x00
		}
	}
	return string(b)
}

// modelOutcome is the model's reading of a stream.
type modelOutcome struct {
	// accepted is where the last complete, acceptable request ends.
	accepted int
	// bad says the request after that is malformed; limit is a position the framer must not
	// approve beyond: the first bare line feed of a bad head or its final line feed, or, in a
	// bad body, the end of the offending line.
	bad   bool
	limit int
	// held says the stream stops after the accepted requests for a protocol switch; preface
	// that it became HTTP/2.
	held, preface bool
}

func owsTrim(s string) string { return strings.Trim(s, " \t") }

// bareLF returns the index of the first line feed in s not preceded by a carriage return, or -1.
func bareLF(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' && (i == 0 || s[i-1] != '\r') {
			return i
		}
	}
	return -1
}

// readModel reads in with the model; maxHead bounds a head (leading empty lines included).
func readModel(in string, maxHead int, priorKnowledge bool) modelOutcome {
	in = asciiOnly(in)
	pos := 0
	first := true
	for {
		start := pos
		for strings.HasPrefix(in[pos:], "\r\n") {
			pos += 2
		}
		if pos == len(in) {
			return modelOutcome{accepted: start}
		}
		rest := in[pos:]
		end := strings.Index(rest, "\r\n\r\n")
		headLimit := -1 // where the head surely ends for a lenient reader
		if end >= 0 {
			headLimit = pos + end + 3
		}
		if lf := bareLF(rest); lf >= 0 && (end < 0 || lf < end+3) {
			return modelOutcome{accepted: start, bad: true, limit: pos + lf}
		}
		if end < 0 {
			if len(in)-start > maxHead {
				return modelOutcome{accepted: start, bad: true, limit: len(in)}
			}
			return modelOutcome{accepted: start}
		}
		headEnd := pos + end + 4
		bad := func() modelOutcome { return modelOutcome{accepted: start, bad: true, limit: headLimit} }
		if headEnd-start > maxHead || strings.Contains(rest[:end+2], "\r\r") {
			return bad()
		}
		lines := strings.Split(rest[:end], "\r\n")
		for _, l := range lines {
			if strings.Contains(l, "\r") {
				return bad()
			}
		}
		if priorKnowledge && first && pos == 0 && lines[0] == "PRI * HTTP/2.0" && len(lines) == 1 {
			if len(in) < headEnd+6 {
				if !strings.HasPrefix("SM\r\n\r\n", in[headEnd:]) {
					return modelOutcome{accepted: 0, bad: true, limit: len(in)}
				}
				return modelOutcome{accepted: 0}
			}
			if in[headEnd:headEnd+6] != "SM\r\n\r\n" {
				return modelOutcome{accepted: 0, bad: true, limit: headEnd + 6}
			}
			return modelOutcome{accepted: len(in), preface: true}
		}
		first = false
		if !requestLineRE.MatchString(lines[0]) {
			return bad()
		}
		method := lines[0][:strings.IndexByte(lines[0], ' ')]
		http10 := strings.HasSuffix(lines[0], "HTTP/1.0")
		var cls, tes []string
		upgrade, hosts := false, 0
		for _, l := range lines[1:] {
			m := fieldLineRE.FindStringSubmatch(l)
			if m == nil {
				return bad()
			}
			name := strings.ToLower(m[1])
			switch name {
			case "content-length":
				cls = append(cls, m[2])
			case "transfer-encoding":
				tes = append(tes, m[2])
			case "upgrade":
				upgrade = true
			case "host":
				hosts++
			default:
				if n := strings.ReplaceAll(name, "_", "-"); n == "content-length" || n == "transfer-encoding" {
					return bad()
				}
			}
		}
		if hosts > 1 {
			return bad()
		}
		bodyStart := headEnd
		var next int
		switch {
		case len(tes) > 0:
			if http10 || len(cls) > 0 || len(tes) > 1 || !strings.EqualFold(owsTrim(tes[0]), "chunked") || len(owsTrim(tes[0])) != 7 {
				return bad()
			}
			var o modelOutcome
			next, o = readChunkedModel(in, bodyStart)
			if next < 0 {
				o.accepted = start
				return o
			}
		case len(cls) > 1:
			return bad()
		case len(cls) == 1:
			v := owsTrim(cls[0])
			if len(v) == 0 || len(v) > 18 || strings.Trim(v, "0123456789") != "" || len(cls[0]) > 64 {
				return bad()
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			if int64(len(in)-bodyStart) < n {
				return modelOutcome{accepted: start}
			}
			next = bodyStart + int(n)
		default:
			next = bodyStart
		}
		pos = next
		if upgrade || method == "CONNECT" {
			return modelOutcome{accepted: pos, held: true}
		}
	}
}

// readChunkedModel reads a chunked body starting at pos. It returns where the body ends, or -1
// with the outcome for an incomplete or bad body (accepted is filled in by the caller).
func readChunkedModel(in string, pos int) (int, modelOutcome) {
	incomplete := modelOutcome{}
	for {
		i := strings.Index(in[pos:], "\r\n")
		line := in[pos:]
		if i >= 0 {
			line = in[pos : pos+i]
		}
		if i < 0 {
			line = strings.TrimSuffix(line, "\r") // the input may end between CR and LF
		}
		if j := strings.IndexAny(line, "\r\n"); j >= 0 {
			if line[j] == '\r' {
				j++ // a CR is wrong only once the next byte is not LF
			}
			return -1, modelOutcome{bad: true, limit: pos + j}
		}
		if i < 0 {
			if len(line)+1 > maxChunkLine {
				return -1, modelOutcome{bad: true, limit: pos + maxChunkLine}
			}
			return -1, incomplete
		}
		if len(line)+1 > maxChunkLine || !chunkLineRE.MatchString(line) {
			return -1, modelOutcome{bad: true, limit: pos + i + 1}
		}
		hex := line
		if semi := strings.IndexByte(line, ';'); semi >= 0 {
			hex = line[:semi]
		}
		size, err := strconv.ParseUint(hex, 16, 63)
		if err != nil {
			return -1, modelOutcome{bad: true, limit: pos + i + 1}
		}
		pos += i + 2
		if size == 0 {
			return readTrailerModel(in, pos)
		}
		if uint64(len(in)-pos) < size+2 {
			if uint64(len(in)-pos) > size && in[pos+int(size)] != '\r' {
				return -1, modelOutcome{bad: true, limit: pos + int(size)}
			}
			return -1, incomplete
		}
		pos += int(size)
		if in[pos:pos+2] != "\r\n" {
			return -1, modelOutcome{bad: true, limit: pos + 1}
		}
		pos += 2
	}
}

// readTrailerModel reads the trailer section starting at pos.
func readTrailerModel(in string, pos int) (int, modelOutcome) {
	start := pos
	for {
		i := strings.Index(in[pos:], "\r\n")
		line := in[pos:]
		if i >= 0 {
			line = in[pos : pos+i]
		}
		if i < 0 {
			line = strings.TrimSuffix(line, "\r") // the input may end between CR and LF
		}
		if j := strings.IndexAny(line, "\r\n"); j >= 0 {
			if line[j] == '\r' {
				j++ // a CR is wrong only once the next byte is not LF
			}
			return -1, modelOutcome{bad: true, limit: pos + j}
		}
		if i < 0 {
			if len(in)-start > maxTrailerBytes {
				return -1, modelOutcome{bad: true, limit: start + maxTrailerBytes}
			}
			return -1, modelOutcome{}
		}
		if pos+i+2-start > maxTrailerBytes {
			return -1, modelOutcome{bad: true, limit: pos + i + 1}
		}
		if line == "" {
			return pos + 2, modelOutcome{}
		}
		if !fieldLineRE.MatchString(line) {
			return -1, modelOutcome{bad: true, limit: pos + i + 1}
		}
		pos += i + 2
	}
}

// FuzzFraming compares the framer with the model on arbitrary streams, fed in arbitrary pieces:
// everything the model accepts is approved (no false refusals), a bad request makes the framer
// fail without approving the byte that would complete it for a lenient reader, a protocol
// switch holds the stream exactly after its request, and the pieces do not matter.
func FuzzFraming(f *testing.F) {
	for _, c := range framingCases {
		f.Add(c.in, uint8(1), false)
		f.Add(c.in, uint8(7), false)
	}
	f.Add("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00", uint8(3), true)
	f.Add("PRI * HTTP/2.0\r\n\r\nSX\r\n\r\n", uint8(1), true)
	f.Add("GET / HTTP/1.1\r\nX: "+strings.Repeat("a", 300)+"\r\n\r\n", uint8(5), false)
	const maxHead = 256
	f.Fuzz(func(t *testing.T, in string, step uint8, priorKnowledge bool) {
		if step == 0 {
			step = 1
		}
		m := readModel(in, maxHead, priorKnowledge)
		fr := newFramer(maxHead, priorKnowledge)
		approved := 0
		for i := 0; i < len(in); i += int(step) {
			end := min(i+int(step), len(in))
			n := fr.feed([]byte(in[i:end]))
			approved += n
			if n < end-i {
				break
			}
		}
		whole := newFramer(maxHead, priorKnowledge)
		if n := whole.feed([]byte(in)); n != approved || (whole.err == nil) != (fr.err == nil) || whole.st != fr.st {
			t.Fatalf("pieces of %d approve %d (err %v), the whole stream %d (err %v)", step, approved, fr.err, n, whole.err)
		}
		if approved < m.accepted && !(fr.st == stHold && m.held) {
			t.Fatalf("approved %d, model accepts %d (err %v)", approved, m.accepted, fr.err)
		}
		switch {
		case m.preface:
			if fr.st != stPassThrough || approved != len(in) {
				t.Fatalf("preface: state %d, approved %d", fr.st, approved)
			}
		case m.held:
			if fr.st != stHold || approved != m.accepted {
				t.Fatalf("switch: state %d, approved %d, model holds after %d", fr.st, approved, m.accepted)
			}
		case m.bad:
			if fr.err == nil {
				t.Fatalf("model: bad after %d (limit %d); framer approved %d without error", m.accepted, m.limit, approved)
			}
			if approved > m.limit {
				t.Fatalf("model: bad after %d, limit %d; framer approved %d (%s)", m.accepted, m.limit, approved, fr.err.Reason)
			}
		default:
			// Complete or incomplete: the framer may only refuse what is still incomplete,
			// having seen a byte that no valid continuation could follow.
			if fr.err != nil && int(fr.err.Offset) < m.accepted {
				t.Fatalf("framer refused at %d (%s) inside what the model accepts (%d)", fr.err.Offset, fr.err.Reason, m.accepted)
			}
		}
	})
}

// readWebSocketModel reads client frames from b as RFC 6455 section 5.2 describes them, with
// encoding/binary-style arithmetic instead of a state machine. It returns where the last
// complete frame ends and, when a frame is malformed, the index of the first byte that makes it
// so (-1 when none is).
func readWebSocketModel(b []byte) (complete, badAt int) {
	pos := 0
	for {
		if len(b)-pos < 1 {
			return pos, -1
		}
		b0 := b[pos]
		op := b0 & 0x0f
		control := op >= 8
		if b0&0x30 != 0 || (op >= 3 && op <= 7) || op >= 11 || (control && b0&0x80 == 0) {
			return pos, pos
		}
		if len(b)-pos < 2 {
			return pos, -1
		}
		b1 := b[pos+1]
		if b1&0x80 == 0 || (control && b1&0x7f > 125) {
			return pos, pos + 1
		}
		var n uint64
		hdr := 2
		switch l := b1 & 0x7f; l {
		case 126:
			if len(b)-pos < 4 {
				return pos, -1
			}
			n = uint64(b[pos+2])<<8 | uint64(b[pos+3])
			hdr = 4
		case 127:
			if len(b)-pos < 3 {
				return pos, -1
			}
			if b[pos+2]&0x80 != 0 {
				return pos, pos + 2
			}
			if len(b)-pos < 10 {
				return pos, -1
			}
			for _, c := range b[pos+2 : pos+10] {
				n = n<<8 | uint64(c)
			}
			hdr = 10
		default:
			n = uint64(l)
		}
		need := uint64(hdr) + 4 + n
		if uint64(len(b)-pos) < need {
			return pos, -1
		}
		pos += int(need)
	}
}

// FuzzWebSocketFrames compares the framer's WebSocket frame checks with readWebSocketModel on
// arbitrary client bytes after a WebSocket switch, fed in arbitrary pieces.
func FuzzWebSocketFrames(f *testing.F) {
	f.Add(wsFrame(0x81, 5, false, 0), uint8(1))
	f.Add(append(wsFrame(0x82, 300, false, 0), wsFrame(0x89, 0, false, 0)...), uint8(3))
	f.Add(wsFrame(0x82, 70000, false, 127), uint8(200))
	f.Add(wsFrame(0x82, 3, false, 127), uint8(2))
	f.Add([]byte("GET /admin HTTP/1.1\r\n\r\n"), uint8(1))
	f.Add(wsFrame(0x81, 5, true, 0), uint8(1))
	f.Add([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0}, uint8(4))
	const offer = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n"
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		if step == 0 {
			step = 1
		}
		complete, badAt := readWebSocketModel(data)
		fr := newFramer(1<<16, false)
		fr.feed([]byte(offer))
		fr.handOver()
		approved := 0
		for i := 0; i < len(data); i += int(step) {
			end := min(i+int(step), len(data))
			n := fr.feed(data[i:end])
			approved += n
			if n < end-i {
				break
			}
		}
		switch {
		case badAt >= 0:
			if fr.err == nil || approved != badAt {
				t.Fatalf("model: bad at %d; framer approved %d, err %v", badAt, approved, fr.err)
			}
		default:
			if fr.err != nil || approved != len(data) || approved < complete {
				t.Fatalf("model: fine (%d complete); framer approved %d of %d, err %v", complete, approved, len(data), fr.err)
			}
		}
	})
}
