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
	"sync"
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
	if s.joinOnly {
		// A stream decoded from joined fields is scanned whole.
		s.joinOnly = false
		defer func() { s.joinOnly = true }()
	}
	br := layerReaders.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		layerReaders.Put(br)
	}()
	head, _ := br.Peek(512)
	if err := s.decodeLayer(br, head, path, depth, h); err != nil {
		s.layerError(path, err)
	}
}

// layerReaders are the buffered readers of the layers being scanned: a scan is synchronous
// and keeps nothing of its reader once it returns, so they are reused rather than allocated
// per scan (a short prompt's scan otherwise allocates more for its buffers than for anything
// else, and the garbage collector's work shows in the slowest scans).
var layerReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// windowBuffers are the window buffers of text scans, reused for the same reason; findings
// copy what they keep of a window.
var windowBuffers sync.Pool

// maxPooledWindow bounds the buffers kept for reuse (a window grown for a long encoded run is
// let go).
const maxPooledWindow = 256 << 10

func getWindowBuffer(n int) []byte {
	if b, ok := windowBuffers.Get().(*[]byte); ok && cap(*b) >= n {
		return (*b)[:0]
	}
	return make([]byte, 0, n)
}

func putWindowBuffer(b []byte) {
	if cap(b) > maxPooledWindow {
		return
	}
	b = b[:0]
	windowBuffers.Put(&b)
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
	return s.scanTextAs(r, path, depth, nil)
}

// scanTextAs is scanText for a stream that wide names as UTF-16 or UTF-32
// text: every window is matched both as bytes and decoded, so a misjudged
// encoding loses nothing. The overlap between windows grows with the code
// unit, so a match still fits in the window that owns its start.
func (s *scanner) scanTextAs(r io.Reader, path []string, depth int, wide *wideEncoding) error {
	c := s.o.ChunkSize
	ov := overlap
	if wide != nil {
		ov *= wide.unit
	}
	size := c + 2*ov
	if len(path) == 0 && s.rootLen >= 0 && s.rootLen+1 < size {
		// The root text of a small input of known length: the window grows if a decoding
		// layer below reads more (it never reads more than the input here).
		size = max(s.rootLen+1, 512)
	}
	buf := getWindowBuffer(size)
	defer func() { putWindowBuffer(buf) }()
	var base int64     // stream offset of buf[0]
	var ownStart int64 // first stream offset not yet owned by a window
	eof := false
	want := c + ov
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
		ownEnd := end - int64(ov)
		if eof {
			ownEnd = end
		}
		if ownEnd < ownStart {
			ownEnd = ownStart
		}
		next := s.window(buf, base, ownStart, ownEnd, eof, path, depth, cs, wide)
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
		want = c + ov
		ownStart = next
		if eof && ownStart >= end {
			break
		}
		if drop := int(ownStart - int64(ov) - base); drop > 0 {
			n := copy(buf, buf[drop:])
			buf = buf[:n]
			base += int64(drop)
		}
	}
	cs.bytes = ownStart
	if s.pl.code >= 0 && !s.joinOnly {
		if lang, conf := cs.verdict(); lang != "" {
			s.report(s.pl.code, candidate{conf: conf, detail: lang}, nil, path, 0, ownStart)
		}
	}
	return readErr
}

// textFamily is one text of a window and the views derived from it: the
// window's bytes, their UTF-16/32 decoding, or string values joined by
// joinValues. A joined family's runs must cross one of its bounds (offsets
// in anc between two joined values), and its matches must overlap no match
// of the same entry found in the values themselves (a match inside one
// value, or one that only reads the next value as context, like the host
// after a URL's password). A record-only family is matched only so a
// joined family can be checked against it.
type textFamily struct {
	anc        *view
	bounds     []int
	joined     bool
	recordOnly bool
	formValues bool // joined form values: '+' is a space in them
}

// crosses reports whether [s,e) of v, a view of f, spans one of f's bounds.
func (f *textFamily) crosses(v *view, s, e int) bool {
	if !f.joined {
		return true
	}
	a, b := v.posIn(f.anc, s), v.posIn(f.anc, e)
	for _, k := range f.bounds {
		if a < k && k < b {
			return true
		}
	}
	return false
}

// posIn maps an offset in v to an offset in its ancestor anc.
func (v *view) posIn(anc *view, i int) int {
	for w := v; w != nil && w != anc; w = w.parent {
		if w.toParent != nil {
			i = int(w.toParent[i])
		}
	}
	return i
}

// matchView is one view of a window to match, with the path its findings
// carry and the family it belongs to.
type matchView struct {
	v    *view
	path []string
	fam  *textFamily
	// from is the view this one was unescaped or folded from (nil for a
	// family's root).
	from *view
}

// windowMatches records what a window's views reported, so a value seen
// by several views (plain, unescaped, folded) is reported once. It is only
// kept when the window has more than one view.
type windowMatches struct {
	exact    map[findingKey]bool
	spans    map[int32][][2]int // entry → raw spans reported or recorded
	specific [][2]int           // raw spans of specific (not fallback) entries
	runs     map[runKey]bool
}

type findingKey struct {
	entry      int32
	start, end int
}

type runKey struct {
	start int
	src   string
}

// deriveViews appends root and the views derived from it: the confusables
// fold, and percent/JSON unescaping repeated while it changes the text (up
// to MaxDepth levels, so %2567 reads as g), each level normalised and
// folded. Unless fam is itself joined, the adjacent values of the levels
// that have JSON strings or form fields are joined (joinValues) into
// families of their own, appended to joins:
// joined families are matched after the others, so a value found whole
// in one field is known before a joined match that overlaps it.
func (s *scanner) deriveViews(out, joins []matchView, pre, root *view, path []string, fam *textFamily) ([]matchView, []matchView) {
	out = append(out, matchView{root, path, fam, nil})
	if root.parent == nil {
		// The window's own bytes, returned as they are by normalizeView:
		// ASCII, nothing to fold.
	} else if f := foldView(root); f != nil {
		out = append(out, matchView{f, with(path, "+fold"), fam, root})
	}
	// Values are joined at the root and again at each unescaping level
	// that brought new quotes or ampersands (JSON inside a JSON string, a
	// percent-encoded form).
	quotes, amps := -1, -1
	var seen map[string]bool // joined texts already laid out
	join := func(v *view, p []string, from *view, multiline bool) {
		if fam.joined {
			return
		}
		var js, forms []joinedValues
		if q := countIfAny(v.text, '"'); q > 0 && q != quotes {
			quotes = q
			// In an unescaped view only the quotes unescaping produced
			// delimit new strings: the others delimited the strings of
			// the level before (the outer string around a JSON document
			// held as a string).
			var delim func(int) bool
			if from != nil {
				delim = func(i int) bool { return from.text[v.toParent[i]] != '"' }
			}
			for _, ps := range jsonStringValues(v.text, multiline, delim) {
				js = append(js, joinPieces(v, ps)...)
			}
			if delim != nil && v.parent == from && !bytes.Equal(v.text, from.text) {
				// A normalised view: quotes that were content (full-width ＂ in the values) look
				// like the delimiters normalising made, so pairing may go wrong; the values are
				// also joined around their separators.
				js = append(js, joinPieces(v, separatedValues(v.text, delim))...)
			}
		}
		if a := countIfAny(v.text, '&'); a > 0 && a != amps {
			amps = a
			forms = joinPieces(v, formValues(v.text))
		}
		for k, j := range append(js, forms...) {
			if seen[string(j.v.text)] {
				continue
			}
			if seen == nil {
				seen = map[string]bool{}
			}
			seen[string(j.v.text)] = true
			jf := &textFamily{anc: j.v, bounds: j.bounds, joined: true, formValues: k >= len(js)}
			joins, _ = s.deriveViews(joins, nil, j.v, normalizeView(j.v), with(p, "+join"), jf)
		}
	}
	// Values are found before normalisation, where quotes are only the
	// ASCII ones (a full-width ＂ inside a value is not a delimiter), and
	// after it (a document written all in full-width forms).
	join(pre, path, nil, false)
	if root != pre {
		// Only the kinds whose syntax normalising changed, and of quotes only those it made:
		// the ASCII ones delimited the strings join(pre) read (a JSON document around a
		// full-width one would otherwise pair its quotes with the full-width ones).
		join(root, path, pre, false)
	}
	cur, p := root, path
	for level := 1; fam.formValues && bytes.IndexByte(cur.text, '+') >= 0 || needsUnescape(cur.text); level++ {
		u := unescapeViewForm(cur, fam.formValues)
		if bytes.Equal(u.text, cur.text) {
			break
		}
		if level > s.o.MaxDepth {
			s.incomplete("%s: escapes nested deeper than %d levels", pathString(path), s.o.MaxDepth)
			break
		}
		n := normalizeView(u)
		p = with(p, "+unescape")
		out = append(out, matchView{n, p, fam, cur})
		if f := foldView(n); f != nil {
			out = append(out, matchView{f, with(p, "+fold"), fam, n})
		}
		join(u, p, cur, true)
		if n != u {
			// A level written in full-width or other compatibility forms has its
			// quotes and ampersands only once normalised, as at the root.
			join(n, p, u, true)
		}
		cur = n
	}
	return out, joins
}

// window matches buf (stream offsets base…) and reports candidates whose
// start lies in [ownStart, ownEnd). It returns the offset where the next
// window's ownership starts (before ownEnd when an encoded run reaches the
// end of the buffer and needs more data).
func (s *scanner) window(buf []byte, base, ownStart, ownEnd int64, eof bool, path []string, depth int, cs *codeStats, wide *wideEncoding) int64 {
	raw := &view{text: buf}
	lo, hi := int(ownStart-base), int(ownEnd-base)

	rootFam := &textFamily{anc: raw, recordOnly: s.joinOnly}
	v0 := normalizeView(raw)
	views, joins := s.deriveViews(nil, nil, raw, v0, path, rootFam)
	if wide != nil {
		if wv := wideView(raw, *wide, wide.firstUnit(base)); wv != nil {
			views, joins = s.deriveViews(views, joins, wv, normalizeView(wv), with(path, "+"+wide.name), &textFamily{anc: raw, recordOnly: s.joinOnly})
		}
	}
	views = append(views, joins...)
	var wm *windowMatches
	if len(views) > 1 {
		wm = &windowMatches{exact: map[findingKey]bool{}, spans: map[int32][][2]int{}, runs: map[runKey]bool{}}
	}

	// Runs first: one reaching the buffer end defers ownership to its start.
	var runs, waiting []run
	for _, mv := range views {
		if mv.fam.recordOnly {
			continue
		}
		for _, ru := range append(findRuns(mv.v), findPercentRuns(mv.v)...) {
			if !mv.fam.crosses(mv.v, ru.start, ru.end) {
				continue
			}
			if wm != nil {
				k := runKey{mv.v.rawPos(ru.start), string(ru.src())}
				if wm.runs[k] {
					continue
				}
				wm.runs[k] = true
			}
			waiting = append(waiting, ru)
			ru.joined = mv.fam.joined
			runs = append(runs, ru.resolve()...)
		}
	}
	runs = outermostRuns(runs)
	if !eof {
		for _, ru := range waiting {
			if at, ok := ru.waitFrom(len(buf)); ok && at >= lo && at < hi {
				hi = at
			}
		}
		// An escaped value (\uXXXX, %XX, nested: each level multiplies its length) that runs
		// past the window is read whole by a later, larger window, as an encoded run is.
		if at, ok := trailingEscapeRun(buf); ok && at >= lo && at < hi {
			hi = at
		}
	}
	for i, mv := range views {
		var stats *codeStats
		if i == 0 {
			stats = cs
		}
		s.match(mv, wm, buf, base, lo, hi, stats)
	}
	for _, ru := range runs {
		rs := ru.v.rawPos(ru.start)
		if rs < lo || rs >= hi {
			continue
		}
		s.decodeRun(ru, path, base, depth)
	}
	if hi < lo {
		hi = lo
	}
	return base + int64(hi)
}

// minEscapeRun is the shortest run of escape sequences at a window's end that waits for the
// next window: shorter ones are read in the overlap between windows.
const minEscapeRun = 256

// trailingEscapeRun returns where a run of escape sequences (JSON \u and \x escapes,
// percent-encoding, their backslashes doubled by nesting) that reaches the end of buf starts:
// bytes of escapes only, with an escape introducer at least every eight bytes.
func trailingEscapeRun(buf []byte) (int, bool) {
	i, intro := len(buf), 0
	for i > 0 {
		c := buf[i-1]
		if c == '\\' || c == '%' {
			intro++
		} else if !isHexByte(c) && c != 'u' && c != 'U' && c != 'x' {
			break
		}
		i--
	}
	n := len(buf) - i
	if n < minEscapeRun || intro*8 < n {
		return 0, false
	}
	return i, true
}

// outermostRuns drops runs whose raw span lies inside a longer run that
// decoded to text or a container: a line of a wrapped value that the unescaped view reads
// whole (JSON "\n" escapes), or a piece of a value cut by a form's '+'.
// Runs are swept in order of start (longest first), so this is
// O(n log n).
func outermostRuns(runs []run) []run {
	if len(runs) < 2 {
		return runs
	}
	runs = bestJoinedRuns(runs)
	type spanned struct {
		r          run
		start, end int
	}
	ss := make([]spanned, len(runs))
	for i, r := range runs {
		ss[i] = spanned{r, r.v.rawPos(r.start), r.v.rawPos(r.end)}
	}
	sort.SliceStable(ss, func(i, j int) bool {
		if ss[i].start != ss[j].start {
			return ss[i].start < ss[j].start
		}
		return ss[i].end > ss[j].end
	})
	out := runs[:0:0]
	maxEnd, maxStart := -1, -1
	for _, s := range ss {
		if maxEnd > s.end || maxEnd == s.end && maxStart < s.start {
			continue // inside a longer run
		}
		out = append(out, s.r)
		// Only a run whose payload is surely meaningful (UTF-8 text or a
		// container) hides the runs inside it: one taken for wide text or
		// headerless compression by a statistical test may be garbage
		// (hex digits decoded as base64) around the right run.
		if s.end > maxEnd && worthScanning(s.r.payload) {
			maxEnd, maxStart = s.end, s.start
		}
	}
	return out
}

// bestJoinedRuns keeps, of the runs of joined values that start at one
// raw offset (blocks of 2, 3 and 4 values), the one that decodes cleanest
// (a valid base64 length, then UTF-8 text without controls or a
// container), then the longest: a value in two fields is not read with the
// next field's bytes appended.
func bestJoinedRuns(runs []run) []run {
	best := map[int]int{} // raw start → index in runs
	quality := func(r run) int {
		if !r.hex && !r.pct && len(bytes.TrimRight(r.src(), "="))%4 == 1 {
			return 0 // no base64 value has this length: a value and a bit more
		}
		if !r.hex && !r.pct && mostlyHex(r.src()) {
			// Hex digits read as base64 (a hex value and the next field's few letters, or a hex
			// value wrapped onto the next line): base64 of real data is about one third hex
			// digits, so the hex reading of the same value wins.
			return 0
		}
		if strictText(r.payload) || isContainerMagic(r.payload) {
			return 2
		}
		return 1
	}
	for i, r := range runs {
		if !r.joined {
			continue
		}
		s := r.v.rawPos(r.start)
		j, ok := best[s]
		if !ok {
			best[s] = i
			continue
		}
		b := runs[j]
		if q, qb := quality(r), quality(b); q > qb || q == qb && r.end-r.start > b.end-b.start {
			best[s] = i
		}
	}
	out := runs[:0:0]
	for i, r := range runs {
		if !r.joined || best[r.v.rawPos(r.start)] == i {
			out = append(out, r)
		}
	}
	return out
}

// mostlyHex reports whether at least 95% of b are hex digits.
func mostlyHex(b []byte) bool {
	n := 0
	for _, c := range b {
		if b64Class[c]&2 != 0 {
			n++
		}
	}
	return len(b) > 0 && n*20 >= len(b)*19
}

// countIfAny counts c in t from its first occurrence: one pass when c is
// absent, as in most prose.
func countIfAny(t []byte, c byte) int {
	i := bytes.IndexByte(t, c)
	if i < 0 {
		return 0
	}
	return bytes.Count(t[i:], []byte{c})
}

// keep decides whether a candidate of entry ei at raw span [rs,re) is new
// for its window, and records it.
func (wm *windowMatches) keep(ei int32, rs, re int, fam *textFamily, fallback bool) bool {
	if wm == nil {
		return true
	}
	k := findingKey{ei, rs, re}
	if wm.exact[k] {
		return false
	}
	if fallback {
		// As within one view, a generic match gives way to a specific
		// entry's match of any view of the window (an AWS secret whose '+'
		// an unescaped view read as a space).
		for _, sp := range wm.specific {
			if rs < sp[1] && sp[0] < re {
				return false
			}
		}
	} else {
		wm.specific = append(wm.specific, [2]int{rs, re})
	}
	if fam.joined {
		// Joined matches are rare: a linear look for an overlap is cheap.
		for _, sp := range wm.spans[ei] {
			if rs < sp[1] && sp[0] < re {
				return false
			}
		}
	}
	wm.exact[k] = true
	wm.spans[ei] = append(wm.spans[ei], [2]int{rs, re})
	return true
}

// match runs every detector of the plan over one view.
func (s *scanner) match(mv matchView, wm *windowMatches, raw []byte, base int64, lo, hi int, cs *codeStats) {
	v, path, fam := mv.v, mv.path, mv.fam
	text := v.text
	pl := s.pl
	var spans [][2]int // spans of specific entries, to suppress generic overlaps
	emit := func(ei int32, c candidate) {
		if c.end > len(text) {
			return
		}
		rs := v.rawPos(c.start)
		if rs < lo || rs >= hi {
			return
		}
		_, generic := pl.entries[ei].det.(fallbackDetector)
		if generic {
			for _, sp := range spans {
				if c.start < sp[1] && sp[0] < c.end {
					return
				}
			}
		} else {
			spans = append(spans, [2]int{c.start, c.end})
		}
		if !wm.keep(ei, rs, v.rawPos(c.end), fam, generic) || fam.recordOnly {
			return
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
		// One emit closure for the whole view: detectors report
		// synchronously, so it reads the entry from cur.
		var cur int32
		emitCur := func(c candidate) { emit(cur, c) }
		forNumberRegions(text, func(a, b int) {
			for k, ei := range pl.numbers {
				cur = ei
				pl.numDets[k].number(text, a, b, emitCur)
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
		if !c.noBoost && conf < s.p.ConfidenceThreshold && s.keywordNear(ei, v, c) {
			conf = High
		}
		s.addFinding(Finding{}, !c.example && conf >= s.p.ConfidenceThreshold)
		return
	}
	if !c.noBoost && conf < High && s.keywordNear(ei, v, c) {
		conf = High
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

// keywordNear reports whether one of entry ei's proximity keywords occurs
// within KeywordWindow bytes of the candidate. The text is searched with
// look-alike letters folded (foldText), as the keywords were compiled, so
// a keyword spelt with Cyrillic or Greek letters still counts.
func (s *scanner) keywordNear(ei int32, v *view, c candidate) bool {
	if v == nil || s.pl.kwAC[ei] == nil {
		return false
	}
	w := s.o.KeywordWindow
	return s.pl.kwAC[ei].any(foldText(v.text[max(0, c.start-w):min(len(v.text), c.end+w)]))
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
