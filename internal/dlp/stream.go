package dlp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
)

// overlap is carried between windows on both sides: larger than the longest
// match (maxTokenLen) plus keyword and context reach, so every match lies
// wholly inside the window that owns its start.
const overlap = 2048

// view is the text matched for one window: the raw bytes, or a normalised
// or unescaped rendering with a map back to its parent's offsets.
type view struct {
	text     []byte
	toParent []int32 // len(text)+1 entries; nil = identity
	parent   *view
}

// changed reports whether v's bytes [s,e) differ from its parent's, i.e.
// whether a derived view's match covered an escape or normalisation.
func (v *view) changed(s, e int) bool {
	if v.parent == nil || v.toParent == nil {
		return false
	}
	a, b := int(v.toParent[s]), int(v.toParent[e])
	return !bytes.Equal(v.text[s:e], v.parent.text[a:b])
}

// escapedSpan reports whether [s,e) of v (unesc or its normalised child)
// covers bytes that unescaping changed.
func escapedSpan(v, unesc *view, s, e int) bool {
	if v != unesc {
		s, e = int(v.toParent[s]), int(v.toParent[e])
	}
	return unesc.changed(s, e)
}

// rawPos maps an offset in v to an offset in the window's raw bytes.
func (v *view) rawPos(i int) int {
	for w := v; w != nil; w = w.parent {
		if w.toParent != nil {
			i = int(w.toParent[i])
		}
	}
	return i
}

// scanStream sniffs the container or encoding of r and dispatches.
func (s *scanner) scanStream(r io.Reader, path []string, depth int, h Hints) {
	if depth > s.o.MaxDepth {
		s.incomplete("%s: nesting deeper than %d layers", pathString(path), s.o.MaxDepth)
		return
	}
	br := bufio.NewReaderSize(r, 4096)
	head, _ := br.Peek(512)
	if err := s.decodeLayer(br, head, path, depth, h); err != nil {
		s.layerError(path, err)
	}
}

func (s *scanner) layerError(path []string, err error) {
	if errors.Is(err, errBudget) {
		s.incomplete("%s: %v", pathString(path), err)
		return
	}
	s.incomplete("%s: undecodable: %v", pathString(path), err)
}

func pathString(path []string) string {
	if len(path) == 0 {
		return "input"
	}
	return strings.Join(path, "/")
}

func with(path []string, elem string) []string {
	out := make([]string, len(path), len(path)+1)
	copy(out, path)
	return append(out, elem)
}

// scanText matches a text stream window by window with bounded memory.
func (s *scanner) scanText(r io.Reader, path []string, depth int) error {
	c := s.o.ChunkSize
	buf := make([]byte, 0, c+2*overlap)
	var base int64     // stream offset of buf[0]
	var ownStart int64 // first stream offset not yet owned by a window
	eof := false
	want := c + overlap
	cs := &codeStats{}
	var readErr error
	if s.pl.record >= 0 {
		prev := s.rec
		s.rec = &recordState{}
		defer func() { s.rec = prev }()
	}
	for {
		for !eof && len(buf)-int(ownStart-base) < want {
			if len(buf) == cap(buf) {
				nb := make([]byte, len(buf), 2*cap(buf))
				copy(nb, buf)
				buf = nb
			}
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err != nil {
				eof = true
				if err != io.EOF {
					readErr = err
				}
			}
		}
		if err := s.checkTime(); err != nil {
			return err
		}
		end := base + int64(len(buf))
		ownEnd := end - overlap
		if eof {
			ownEnd = end
		}
		if ownEnd < ownStart {
			ownEnd = ownStart
		}
		next := s.window(buf, base, ownStart, ownEnd, eof, path, depth, cs)
		s.flushRecords(path)
		if next <= ownStart && !eof {
			// A run needs more data than the window holds: grow, within budget.
			if want >= s.o.MaxRunBytes+c {
				s.incomplete("%s: encoded run at %d longer than %d bytes", pathString(path), ownStart, s.o.MaxRunBytes)
				next = ownEnd
			} else {
				want *= 2
				continue
			}
		}
		want = c + overlap
		ownStart = next
		if eof && ownStart >= end {
			break
		}
		if drop := int(ownStart - overlap - base); drop > 0 {
			n := copy(buf, buf[drop:])
			buf = buf[:n]
			base += int64(drop)
		}
	}
	cs.bytes = ownStart
	if s.pl.code >= 0 {
		if lang, conf := cs.verdict(); lang != "" {
			s.report(s.pl.code, candidate{conf: conf, detail: lang}, nil, path, 0, ownStart)
		}
	}
	return readErr
}

// window matches buf (stream offsets base…) and reports candidates whose
// start lies in [ownStart, ownEnd). It returns the offset where the next
// window's ownership starts (before ownEnd when an encoded run reaches the
// end of the buffer and needs more data).
func (s *scanner) window(buf []byte, base, ownStart, ownEnd int64, eof bool, path []string, depth int, cs *codeStats) int64 {
	v0 := normalizeView(&view{text: buf})
	lo, hi := int(ownStart-base), int(ownEnd-base)

	// Runs first: one reaching the buffer end defers ownership to its start.
	runs := findRuns(v0)
	var derived, unesc *view
	if needsUnescape(v0.text) {
		unesc = unescapeView(v0)
		derived = normalizeView(unesc)
		runs = append(runs, findEscapedRuns(derived, unesc)...)
	}
	if !eof {
		for _, ru := range runs {
			rs, re := ru.v.rawPos(ru.start), ru.v.rawPos(ru.end)
			if re >= len(buf) && rs >= lo && rs < hi {
				hi = rs
			}
		}
	}
	s.match(v0, nil, buf, base, lo, hi, path, cs)
	if derived != nil {
		s.match(derived, unesc, buf, base, lo, hi, with(path, "+unescape"), nil)
	}
	for _, ru := range runs {
		rs := ru.v.rawPos(ru.start)
		if rs < lo || rs >= hi {
			continue
		}
		s.decodeRun(ru, path, base+int64(rs), depth)
	}
	if hi < lo {
		hi = lo
	}
	return base + int64(hi)
}

// match runs every detector of the plan over one view. For an unescaped
// view (unesc != nil) only matches that covered an escape are kept, so a
// value is not reported twice.
func (s *scanner) match(v *view, unesc *view, raw []byte, base int64, lo, hi int, path []string, cs *codeStats) {
	text := v.text
	pl := s.pl
	owned := func(i int) bool { r := v.rawPos(i); return r >= lo && r < hi }
	var spans [][2]int // spans of specific entries, to suppress generic overlaps
	emit := func(ei int32, c candidate) {
		if c.end > len(text) || !owned(c.start) {
			return
		}
		if unesc != nil && !escapedSpan(v, unesc, c.start, c.end) {
			return
		}
		if _, generic := pl.entries[ei].det.(fallbackDetector); generic {
			for _, sp := range spans {
				if c.start < sp[1] && sp[0] < c.end {
					return
				}
			}
		} else {
			spans = append(spans, [2]int{c.start, c.end})
		}
		s.report(ei, c, v, path, base, 0)
	}
	type trig struct {
		pos int
		id  int32
	}
	var trigs []trig
	pl.ac.scan(text, func(pos int, id int32) { trigs = append(trigs, trig{pos, id}) })
	if cs != nil && pl.code >= 0 && hi > lo {
		s.codeWindow(text[min(lo, len(text)):min(hi, len(text))], cs)
	}
	seen := map[[2]int]bool{}
	sort.SliceStable(trigs, func(i, j int) bool { return !pl.genericTrig[trigs[i].id] && pl.genericTrig[trigs[j].id] })
	for _, t := range trigs {
		for _, r := range pl.roles[t.id] {
			if r.kind != roleTrigger {
				continue
			}
			d := pl.entries[r.entry].det.(triggerDetector)
			c, ok := d.at(text, t.pos, pl.ac.pats[t.id])
			if !ok {
				continue
			}
			k := [2]int{int(r.entry), c.start}
			if seen[k] {
				continue
			}
			seen[k] = true
			emit(r.entry, c)
		}
	}
	if len(pl.numbers) > 0 {
		// One emit closure per entry for the whole view, not per region.
		dets := make([]numberDetector, len(pl.numbers))
		emits := make([]func(candidate), len(pl.numbers))
		for k, ei := range pl.numbers {
			dets[k] = pl.entries[ei].det.(numberDetector)
			emits[k] = func(c candidate) { emit(ei, c) }
		}
		forNumberRegions(text, func(a, b int) {
			for k, d := range dets {
				d.number(text, a, b, emits[k])
			}
		})
	}
	for _, ei := range pl.fulls {
		pl.entries[ei].det.(fullDetector).find(text, func(c candidate) { emit(ei, c) })
	}
}

var numClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = 1
	}
	for _, c := range " -.()/+" {
		t[c] = 2
	}
	return
}()

// mayHaveDigit reports whether some byte of x is in '0'…'9' (exact: the
// SWAR range test of "Bit Twiddling Hacks", hasbetween(x, '0'-1, '9'+1)).
func mayHaveDigit(x uint64) bool {
	const ones = ^uint64(0) / 255
	const m, n = '0' - 1, '9' + 1
	return (ones*(127+n)-(x&(ones*127)))&^x&((x&(ones*127))+ones*(127-m))&(ones*128) != 0
}

// forNumberRegions calls fn for every maximal run of digits and phone/card
// separators that starts and ends with a digit (a leading '+' or '(' kept).
func forNumberRegions(text []byte, fn func(lo, hi int)) {
	n := len(text)
	for i := 0; i < n; i++ {
		// Skip eight bytes at a time while none of them is a digit.
		for i+8 <= n && !mayHaveDigit(binary.LittleEndian.Uint64(text[i:])) {
			i += 8
		}
		if i >= n {
			break
		}
		if numClass[text[i]] != 1 {
			continue
		}
		lo := i
		if lo > 0 && (text[lo-1] == '+' || text[lo-1] == '(') {
			lo--
		}
		j, last, seps := i, i, 0
		for j < n {
			k := numClass[text[j]]
			if k == 1 {
				last, seps = j, 0
			} else if k == 2 {
				seps++
				if seps > 2 {
					break
				}
			} else {
				break
			}
			j++
		}
		fn(lo, last+1)
		i = last
	}
}

// report turns a candidate into a finding with confidence, redaction and
// context.
func (s *scanner) report(ei int32, c candidate, v *view, path []string, base int64, streamEnd int64) {
	if s.pl.record >= 0 && s.pl.member[ei] && !c.example && s.rec != nil && v != nil {
		s.rec.pending = append(s.rec.pending, recordHit{start: base + int64(v.rawPos(c.start)), end: base + int64(v.rawPos(c.end)), entry: ei})
	}
	if s.pl.hidden[ei] {
		return
	}
	e := s.pl.entries[ei]
	conf := c.conf
	if len(s.v.Findings) >= s.o.MaxFindings {
		// The finding will not be kept: only its count matters, so skip the
		// redaction and context work, and the keyword search unless it can
		// lift the candidate over the threshold.
		if !c.noBoost && conf < s.p.ConfidenceThreshold && v != nil && s.pl.kwAC[ei] != nil {
			w := s.o.KeywordWindow
			if s.pl.kwAC[ei].any(v.text[max(0, c.start-w):min(len(v.text), c.end+w)]) {
				conf = High
			}
		}
		s.addFinding(Finding{}, !c.example && conf >= s.p.ConfidenceThreshold)
		return
	}
	if !c.noBoost && conf < High && v != nil && s.pl.kwAC[ei] != nil {
		w := s.o.KeywordWindow
		if s.pl.kwAC[ei].any(v.text[max(0, c.start-w):min(len(v.text), c.end+w)]) {
			conf = High
		}
	}
	f := Finding{Entry: e.ID, Profile: s.p.Name, Confidence: conf, Path: path, Detail: c.detail, Example: c.example}
	if v == nil { // stream-level finding (source code)
		f.Start, f.End = 0, streamEnd
		f.Sample = "[" + c.detail + " source]"
	} else {
		f.Start, f.End = base+int64(v.rawPos(c.start)), base+int64(v.rawPos(c.end))
		m := v.text[c.start:c.end]
		f.Sample = redact(m, e.keepPrefix, e.redactAll)
		cb := s.o.ContextBytes
		before := v.text[max(0, c.start-cb):c.start]
		after := v.text[c.end:min(len(v.text), c.end+cb)]
		f.Context = redactContext(before) + f.Sample + redactContext(after)
		if s.e.opts.PayloadKey != nil {
			pt := `{"match":` + strconv.Quote(string(m)) + `,"context":` + strconv.Quote(string(before)+string(m)+string(after)) + `}`
			if ct, err := EncryptPayload(s.e.opts.PayloadKey, []byte(pt)); err == nil {
				f.Payload = ct
			}
		}
	}
	counted := !c.example && conf >= s.p.ConfidenceThreshold
	s.addFinding(f, counted)
}

// redact replaces letters and digits with X, keeping keep leading bytes.
func redact(m []byte, keep int, all bool) string {
	if all {
		keep = 0
	}
	out := []byte(string(m))
	for i := range out {
		if i >= keep && isAlnum(out[i]) {
			out[i] = 'X'
		}
	}
	return string(out)
}

// redactContext hides the surrounding text's tokens that may be sensitive
// (containing a digit or '@', at least 12 bytes long, or cut by the context
// edge); ordinary words stay readable.
func redactContext(b []byte) string {
	out := []byte(strings.ToValidUTF8(string(b), "?"))
	isTok := func(c byte) bool {
		return isAlnum(c) || c == '_' || c == '-' || c == '+' || c == '/' || c == '@' || c == '.' || c == '='
	}
	for i := 0; i < len(out); {
		if !isTok(out[i]) {
			i++
			continue
		}
		j, sensitive := i, false
		for j < len(out) && isTok(out[j]) {
			if isDigit(out[j]) || out[j] == '@' {
				sensitive = true
			}
			j++
		}
		if sensitive || j-i >= 12 || i == 0 || j == len(out) {
			for k := i; k < j; k++ {
				if isAlnum(out[k]) {
					out[k] = 'X'
				}
			}
		}
		i = j
	}
	return string(out)
}

// codeWindow adds one window's source-code statistics. Line endings are
// counted with fast substring counts; the token automaton only runs when at
// least one line in ten ends like code.
func (s *scanner) codeWindow(seg []byte, cs *codeStats) {
	lines := bytes.Count(seg, []byte{'\n'})
	cs.lines += lines
	quick := bytes.Count(seg, []byte(";\n")) + bytes.Count(seg, []byte("{\n")) + bytes.Count(seg, []byte("}\n")) +
		bytes.Count(seg, []byte(":\n")) + bytes.Count(seg, []byte(")\n"))
	if lines == 0 || quick*10 < lines {
		return
	}
	pl := s.pl
	pl.codeAC.scan(seg, func(_ int, id int32) {
		r := pl.codeRole[id]
		if r.kind == roleCode {
			cs.add(r.lang, pl.codeAC.pats[id])
		} else {
			cs.structure++
		}
	})
}
