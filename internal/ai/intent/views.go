package intent

import (
	"encoding/base32"
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// A view is text the rules read: a field as written, or a payload decoded
// from it, or the quoted fragments of it joined. Spans found in a view map
// back to the field through its segments.
type view struct {
	text  string
	field int
	kind  viewKind
	segs  []seg
}

type viewKind uint8

const (
	viewPlain viewKind = iota
	viewBase64
	viewHex
	viewPercent
	viewJoined
	viewBase32
	viewBinary
	viewReversed
	viewShifted
	viewTags
	viewLabelled
	viewAcrostic
	viewMorse
)

// assembled reports a view put together from pieces of the text (quoted
// fragments, labelled parts, first letters), which counts only when it
// reads more than the text does.
func (k viewKind) assembled() bool {
	return k == viewJoined || k == viewLabelled || k == viewAcrostic
}

// seg maps view bytes [vStart, next seg's vStart) to the field: exactly
// (byte for byte from oStart) or, for decoded payloads, to the whole
// encoded run [oStart, oEnd).
type seg struct {
	vStart, oStart, oEnd int32
	exact                bool
}

func (v *view) orig(s, e int32) (int32, int32) {
	if len(v.segs) == 0 {
		return s, e
	}
	find := func(p int32) seg {
		k := 0
		for k+1 < len(v.segs) && v.segs[k+1].vStart <= p {
			k++
		}
		return v.segs[k]
	}
	a, b := find(s), find(e-1)
	os, oe := a.oStart, b.oEnd
	if a.exact {
		os = a.oStart + (s - a.vStart)
	}
	if b.exact {
		oe = b.oStart + (e - b.vStart)
	}
	if oe < os {
		oe = os
	}
	return os, oe
}

// Limits on the extra work one field can cause.
const (
	maxDecodedRuns  = 16
	maxDecodedBytes = 64 << 10
	minB64Run       = 16
	minHexBytes     = 8
	maxFragment     = 400
)

func isB64(c byte) bool { return b64Bytes[c] }

var b64Bytes = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '-' || b == '_'
	}
	return
}()

// decodedViews finds base64, hex and percent-encoded runs in text whose
// decoding is readable text.
func decodedViews(text string, field int, out []view) []view {
	budget := maxDecodedBytes
	runs := 0
	add := func(kind viewKind, s, e int, dec []byte) {
		if kind == viewBase64 && len(dec) >= minB64Run && b64End(string(dec), 0) == len(dec) {
			// encoded twice: decode once more
			if d2 := decodeB64(string(dec)); d2 != nil {
				dec = d2
			}
		}
		if runs >= maxDecodedRuns || len(dec) > budget || !readable(dec) {
			return
		}
		runs++
		budget -= len(dec)
		out = append(out, view{text: string(dec), field: field, kind: kind, segs: []seg{{vStart: 0, oStart: int32(s), oEnd: int32(e)}}})
	}
	for i := 0; i < len(text) && runs < maxDecodedRuns; {
		c := text[i]
		switch {
		case c == '%' && i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2]):
			s := i
			var dec []byte
			for i+2 < len(text) && text[i] == '%' && isHex(text[i+1]) && isHex(text[i+2]) {
				dec = append(dec, hexVal(text[i+1])<<4|hexVal(text[i+2]))
				i += 3
				// keep plain characters between escapes inside one run
				for i < len(text) && text[i] != '%' && text[i] > ' ' && len(dec) > 0 {
					dec = append(dec, text[i])
					i++
				}
			}
			if len(dec) >= minHexBytes {
				add(viewPercent, s, i, dec)
			}
		case (c == '\\' || c == '0') && i+3 < len(text) && text[i+1] == 'x' && isHex(text[i+2]):
			// "\x69\x67…" or "0x69 0x67…"
			if dec, e := hexRun(text, i); len(dec) >= minHexBytes && e > i {
				add(viewHex, i, e, dec)
				i = e
				continue
			}
			i++
		case isB64(c):
			e := b64End(text, i)
			switch {
			case e-i == 2 && isHex(c) && isHex(text[i+1]) && e+2 < len(text) && (text[e] == ' ' || text[e] == ':' || text[e] == ',') && isHex(text[e+1]):
				// spaced hex bytes: "69 67 6e"
				if dec, he := hexRun(text, i); len(dec) >= minHexBytes && he > i {
					add(viewHex, i, he, dec)
					e = he
				}
			case e-i >= minB64Run && allHex(text[i:e]) && (e-i)%2 == 0:
				if dec, he := hexRun(text, i); len(dec) >= minHexBytes && he > i {
					add(viewHex, i, he, dec)
				}
			case e-i >= minB64Run:
				if dec := decodeB64(text[i:e]); dec != nil {
					add(viewBase64, i, e, dec)
				}
			}
			i = e
		default:
			i++
		}
	}
	return out
}

func b64End(text string, i int) int {
	e := i
	for e < len(text) && isB64(text[e]) {
		e++
	}
	for e < len(text) && text[e] == '=' {
		e++
	}
	return e
}

// decodeB64 decodes standard or URL base64 with or without padding; a run
// without a digit, '+' or '/' and without mixed case is a word, not base64.
func decodeB64(s string) []byte {
	upper, lower, other := false, false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		default:
			other = true
		}
	}
	if !(upper && lower) && !other {
		return nil
	}
	t := strings.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(t, "-_") {
		enc = base64.RawURLEncoding
	}
	if len(t)%4 == 1 {
		t = t[:len(t)-1]
	}
	dec, err := enc.DecodeString(t)
	if err != nil {
		return nil
	}
	return dec
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// hexRun decodes hex bytes from i: a contiguous even-length run, or bytes
// written "\x69\x67", "0x69 0x67", "69 67 6e" or "69:67:6e".
func hexRun(text string, i int) ([]byte, int) {
	var dec []byte
	e := i
	for e < len(text) {
		p := e
		if strings.HasPrefix(text[p:], "\\x") || strings.HasPrefix(text[p:], "0x") {
			p += 2
		}
		if p+1 >= len(text) || !isHex(text[p]) || !isHex(text[p+1]) {
			break
		}
		dec = append(dec, hexVal(text[p])<<4|hexVal(text[p+1]))
		e = p + 2
		if e < len(text) && (text[e] == ' ' || text[e] == ':' || text[e] == ',') && e+1 < len(text) && (isHex(text[e+1]) || text[e+1] == '\\' || text[e+1] == '0') {
			e++
		}
	}
	// a run that ends inside a word is not hex (a base64 or plain word)
	if e < len(text) && isB64(text[e]) {
		return nil, i
	}
	return dec, e
}

// readable reports decoded bytes that read as text: valid UTF-8, mostly
// letters and spaces, with at least one space (a sentence, not a key).
func readable(b []byte) bool {
	if len(b) < 8 || !utf8.Valid(b) {
		return false
	}
	good, spaces := 0, 0
	for _, c := range b {
		switch {
		case c == ' ':
			spaces++
			good++
		case c >= 0x80, c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '\'', c == ',', c == '.', c == '\n':
			good++
		}
	}
	return spaces > 0 && good*10 >= len(b)*8
}

// joinedView joins the quoted fragments of text ('…', "…", `…`, “…”) in
// order, for payloads split across variables ("a='ign' b='ore all…'").
func joinedView(text string, field int) (view, bool) {
	var v view
	var b strings.Builder
	n := 0
	for i := 0; i < len(text); i++ {
		closeQ, open, ok := openingQuote(text, i)
		if !ok {
			continue
		}
		// look no further than a fragment can reach, so unclosed quotes
		// cost linear time
		end := closingQuote(text, open, closeQ)
		if end < 0 || end > maxFragment || strings.IndexByte(text[open:open+end], '\n') >= 0 {
			continue
		}
		frag := text[open : open+end]
		if b.Len() > 0 && wordBoundary(b.String(), frag) {
			b.WriteByte(' ') // 'bypass' 'your' 'guidelines': whole words
		}
		v.segs = append(v.segs, seg{vStart: int32(b.Len()), oStart: int32(open), oEnd: int32(open + end), exact: true})
		b.WriteString(frag)
		n++
		i = open + end + len(closeQ) - 1
	}
	if n < 2 {
		return view{}, false
	}
	v.text, v.field, v.kind = b.String(), field, viewJoined
	return v, true
}

// wordBoundary reports that joined fragments meet between two whole words
// rather than inside one: the left fragment's last word and the right
// one's first are each in the lexicon and their concatenation is not
// ("'bypass' 'your'" but not "'ign' 'ore'" or "'prev' 'ious'").
func wordBoundary(left, right string) bool {
	if left == "" || right == "" || !isASCIILetter(left[len(left)-1]) || !isASCIILetter(right[0]) {
		return false
	}
	a := len(left)
	for a > 0 && isASCIILetter(left[a-1]) {
		a--
	}
	z := 0
	for z < len(right) && isASCIILetter(right[z]) {
		z++
	}
	l, r := left[a:], right[:z]
	if known(l + r) {
		return false // "'ign' 'ore'", "'mal' 'ware'": one word split
	}
	// "'a molotov' 'cocktail…'": two whole words, both known, or one
	// known and neither short enough to be a word's piece
	return known(l) && known(r) || (known(l) || known(r)) && len(l) >= 3 && len(r) >= 3
}

// known reports a single word the lexicon has categories for.
func known(w string) bool {
	k := keysOf(w)
	if len(k) != 1 {
		return false
	}
	i := lex.find([]byte(k[0]))
	return i >= 0 && lex.vals[i].cats != [2]uint64{}
}

// closingQuote returns the offset from open of the quote closing a
// fragment, within maxFragment bytes, or -1. An apostrophe between two
// letters ("the developer's earlier") closes nothing.
func closingQuote(text string, open int, closeQ string) int {
	win := text[open:min(len(text), open+maxFragment+len(closeQ))]
	for from := 0; ; {
		k := strings.Index(win[from:], closeQ)
		if k < 0 {
			return -1
		}
		at := open + from + k
		if closeQ == "'" && at > 0 && at+1 < len(text) && isASCIILetter(text[at-1]) && isASCIILetter(text[at+1]) {
			from += k + 1
			continue
		}
		return from + k
	}
}

// openingQuote reports whether text[i] opens a quoted fragment ('…', "…", `…`, “…”; an
// apostrophe inside a word does not), and returns the quote that closes it and where the
// fragment starts.
func openingQuote(text string, i int) (closeQ string, open int, ok bool) {
	switch q := text[i]; {
	case q == '\'' || q == '"' || q == '`':
		if q == '\'' && i > 0 && isASCIILetter(text[i-1]) {
			return "", 0, false
		}
		return string(q), i + 1, true
	case q == 0xE2 && strings.HasPrefix(text[i:], "“"):
		return "”", i + len("“"), true
	}
	return "", 0, false
}

// quotedRegions appends the byte ranges of text inside paired quotes
// ('…', "…", `…`, “…”), found as joinedView finds its fragments.
func quotedRegions(text string, out [][2]int32) [][2]int32 {
	for i := 0; i < len(text); i++ {
		closeQ, open, ok := openingQuote(text, i)
		if !ok {
			continue
		}
		end := closingQuote(text, open, closeQ)
		if end < 0 || end > maxFragment {
			continue
		}
		out = append(out, [2]int32{int32(open), int32(open + end)})
		i = open + end + len(closeQ) - 1
	}
	return out
}

// asciiLower lowers ASCII letters only, so offsets stay those of text
// (strings.ToLower rewrites invalid UTF-8 and changes lengths).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c | 0x20
		}
	}
	return string(b)
}

// mayHide is hiddenRegions' cheap first test for hiding styles: a CSS
// property that can hide text (display, visibility, font-size, opacity,
// color) right before a ':'.
func mayHide(text string) bool {
	for off := 0; ; {
		i := strings.IndexByte(text[off:], ':')
		if i < 0 {
			return false
		}
		c := off + i
		e := c
		for e > 0 && text[e-1] == ' ' {
			e--
		}
		for _, p := range []string{"display", "visibility", "font-size", "opacity", "color"} {
			if e >= len(p) && strings.EqualFold(text[e-len(p):e], p) {
				return true
			}
		}
		off = c + 1
	}
}

// hiddenRegions returns the byte ranges of text a reader does not see
// rendered: HTML comments, Markdown link-reference comments ("[//]: #
// (…)"), and elements styled display:none or visibility:hidden.
func hiddenRegions(text string, out [][2]int32) [][2]int32 {
	for off := 0; ; {
		i := strings.Index(text[off:], "<!--")
		if i < 0 {
			break
		}
		s := off + i
		e := strings.Index(text[s+4:], "-->")
		end := len(text)
		if e >= 0 {
			end = s + 4 + e + 3
		}
		out = append(out, [2]int32{int32(s), int32(end)})
		off = end
		if off >= len(text) {
			break
		}
	}
	for off := 0; ; {
		// Markdown comments: a link reference nobody links to, "[//]: # (…)",
		// "[comment]: <> (…)"
		i := strings.Index(text[off:], "]: ")
		if i >= 0 && !(strings.HasPrefix(text[off+i+3:], "#") || strings.HasPrefix(text[off+i+3:], "<>")) {
			off += i + 3
			continue
		}
		if i < 0 {
			break
		}
		s := off + i
		e := strings.IndexByte(text[s:], '\n')
		end := len(text)
		if e >= 0 {
			end = s + e
		}
		out = append(out, [2]int32{int32(s), int32(end)})
		off = end
	}
	if !mayHide(text) {
		return out
	}
	lower := asciiLower(text)
	for _, key := range []string{"display:none", "display: none", "visibility:hidden", "visibility: hidden", "font-size:0", "font-size: 0",
		"opacity:0", "opacity: 0", "color:white", "color: white", "color:#fff", "color: #fff"} {
		for off := 0; ; {
			i := strings.Index(lower[off:], key)
			if i < 0 {
				break
			}
			s := off + i
			// the element's content runs to the next closing tag
			e := strings.Index(lower[s:], "</")
			end := len(text)
			if e >= 0 {
				end = s + e
			}
			out = append(out, [2]int32{int32(s), int32(end)})
			off = end
			if off >= len(text) {
				break
			}
		}
	}
	return out
}

// textHints are what one pass over a field finds worth a closer look.
type textHints struct {
	encoded bool // a base64 or hex run, \x or 0x bytes, spaced hex pairs, %XX escapes
	quotes  int  // quote characters that can open a fragment
}

// hintsOf makes one table-driven pass over text so that the decoders and
// the fragment joiner run only on text that can hold what they look for.
func hintsOf(text string) textHints {
	var h textHints
	run := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if b64Bytes[c] {
			run++
			if run >= minB64Run {
				h.encoded = true
			}
			if c == 'x' && i > 0 && (text[i-1] == '\\' || text[i-1] == '0') && i+1 < len(text) && isHex(text[i+1]) {
				h.encoded = true
			}
			continue
		}
		if run == 2 && c == ' ' && isHex(text[i-1]) && isHex(text[i-2]) && i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2]) {
			h.encoded = true
		}
		run = 0
		switch c {
		case '%':
			if i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2]) {
				h.encoded = true
			}
		case '"', '`':
			h.quotes++
		case '\'':
			// an opening quote, or a closing one after a word
			// ("a='ign' b='ore…'"); not an apostrophe inside a word
			if i == 0 || !isASCIILetter(text[i-1]) || i+1 == len(text) || !isASCIILetter(text[i+1]) {
				h.quotes++
			}
		case 0xE2:
			if i+2 < len(text) && text[i+1] == 0x80 && text[i+2] == 0x9C {
				h.quotes += 2
			}
		}
	}
	return h
}

// maxCipherText bounds the text the cipher readings (reversed, shifted)
// are tried on.
const maxCipherText = 8 << 10

// Limits of the cipher readings.
const (
	minCipherWords = 4 // unknown words in a row that may be a cipher
	maxCipherSpans = 4
)

// cipherCandidates returns the byte ranges of runs of at least
// minCipherWords words the lexicon does not know at all (not even as
// fillers), allowing one- and two-letter words between them: reversed or
// shifted text ("erongi lla suoiverp", "ljqruh brxu"). Ordinary prose has
// a known filler every few words.
func cipherCandidates(toks []tok, out [][2]int32) [][2]int32 {
	start, unknown := -1, 0
	flush := func(end int) {
		if start >= 0 && unknown >= minCipherWords && len(out) < maxCipherSpans {
			out = append(out, [2]int32{toks[start].start, toks[end].end})
		}
		start, unknown = -1, 0
	}
	for k := range toks {
		t := &toks[k]
		switch {
		case t.lv < 0 && t.flags&tokCJK == 0:
			if start < 0 {
				start = k
			}
			unknown++
		case t.end-t.start <= 2 && start >= 0:
		default:
			flush(k - 1)
		}
	}
	flush(len(toks) - 1)
	return out
}

// cipherViews runs only when the prompt asks for decoding: it reads
// base32 runs and binary octets in the text, and each candidate span
// backwards and through the Caesar shift that turns the most of its words
// into lexicon words. Each is bounded, and a reading that finds nothing
// is dropped by the caller.
func cipherViews(text string, field int, b64Runs bool, cands [][2]int32, out []view) []view {
	runs := 0
	// binary octets: ASCII starts each with '0', so jump between zeros
	for i := 0; i < len(text) && runs < maxDecodedRuns; {
		k := strings.IndexByte(text[i:], '0')
		if k < 0 {
			break
		}
		i += k
		dec, e := binaryRun(text, i)
		if len(dec) >= minHexBytes && readable(dec) {
			out = append(out, view{text: string(dec), field: field, kind: viewBinary, segs: []seg{{vStart: 0, oStart: int32(i), oEnd: int32(e)}}})
			runs++
		}
		i = max(e, i+1)
	}
	// base32 runs are long runs of base64 characters too: only when
	// hintsOf saw one
	for i := 0; b64Runs && i < len(text) && runs < maxDecodedRuns; {
		c := text[i]
		switch {
		case c >= 'A' && c <= 'Z' || c >= '2' && c <= '7':
			e := i
			for e < len(text) && (text[e] >= 'A' && text[e] <= 'Z' || text[e] >= '2' && text[e] <= '7') {
				e++
			}
			p := e
			for p < len(text) && text[p] == '=' {
				p++
			}
			if e-i >= minB64Run {
				if dec, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(text[i:e][:(e-i)/8*8+b32Tail(e-i)]); err == nil && readable(dec) {
					out = append(out, view{text: string(dec), field: field, kind: viewBase32, segs: []seg{{vStart: 0, oStart: int32(i), oEnd: int32(p)}}})
					runs++
				}
			}
			i = p + 1
		default:
			i++
		}
	}
	budget := maxCipherText
	for _, c := range cands {
		span := text[c[0]:c[1]]
		if budget -= len(span); budget < 0 {
			break
		}
		at := []seg{{vStart: 0, oStart: c[0], oEnd: c[1]}}
		out = append(out, view{text: reverseRunes(span), field: field, kind: viewReversed, segs: at})
		if n, ok := bestShift(span); ok {
			out = append(out, view{text: shiftASCII(span, n), field: field, kind: viewShifted, segs: at})
		}
	}
	return out
}

// labelledView joins the values of labelled parts ("Part 1: how to make.
// Part 2: a molotov.", "First word: bypass. Second word: your.") in
// order: for each line or sentence holding a colon, what follows the
// colon. It needs two such parts.
func labelledView(text string, field int) (view, bool) {
	if len(text) > maxCipherText {
		return view{}, false
	}
	var v view
	var b strings.Builder
	n := 0
	for s := 0; s < len(text); {
		e := strings.IndexAny(text[s:], ".\n;")
		if e < 0 {
			e = len(text)
		} else {
			e += s
		}
		part := text[s:e]
		if c := strings.LastIndexByte(part, ':'); c >= 0 && c < len(part)-1 && c <= 40 {
			val := strings.Trim(part[c+1:], " \t'\"`")
			if val != "" {
				if b.Len() > 0 {
					b.WriteByte(' ')
				}
				off := s + c + 1 + strings.Index(part[c+1:], val)
				v.segs = append(v.segs, seg{vStart: int32(b.Len()), oStart: int32(off), oEnd: int32(off + len(val)), exact: true})
				b.WriteString(val)
				n++
			}
		}
		s = e + 1
	}
	if n < 2 {
		return view{}, false
	}
	v.text, v.field, v.kind = b.String(), field, viewLabelled
	return v, true
}

// acrosticView reads the first letter of each line ("Iguanas\nGrow\n
// Naturally…"), a blank line between words. It needs at least four
// letters.
func acrosticView(text string, field int) (view, bool) {
	if len(text) > maxCipherText {
		return view{}, false
	}
	var b []byte
	letters := 0
	for s := 0; s < len(text); {
		e := strings.IndexByte(text[s:], '\n')
		if e < 0 {
			e = len(text)
		} else {
			e += s
		}
		line := strings.TrimLeft(text[s:e], " \t-*>0123456789.)")
		switch {
		case line == "" || len(line) > 40: // a blank line, or the instruction around the acrostic
			if len(b) > 0 && b[len(b)-1] != ' ' {
				b = append(b, ' ')
			}
		case isASCIILetter(line[0]):
			b = append(b, line[0])
			letters++
		}
		s = e + 1
	}
	if letters < 4 {
		return view{}, false
	}
	return view{text: string(b), field: field, kind: viewAcrostic, segs: []seg{{vStart: 0, oStart: 0, oEnd: int32(len(text))}}}, true
}

// tagView reads the Unicode tag characters of text (U+E0020–U+E007E, each
// an invisible copy of an ASCII character) as the ASCII they spell.
func tagView(text string, field int) (view, bool) {
	var b []byte
	first, last := -1, 0
	for i, r := range text {
		if r >= 0xE0020 && r <= 0xE007E {
			if first < 0 {
				first = i
			}
			b = append(b, byte(r-0xE0000))
			last = i + utf8.RuneLen(r)
		}
		if len(b) >= maxDecodedBytes {
			break
		}
	}
	if len(b) < minHexBytes {
		return view{}, false
	}
	return view{text: string(b), field: field, kind: viewTags, segs: []seg{{vStart: 0, oStart: int32(first), oEnd: int32(last)}}}, true
}

// b32Tail is the longest valid unpadded tail of n base32 characters
// beyond whole 8-character blocks.
func b32Tail(n int) int {
	for r := n % 8; r > 0; r-- {
		if r == 2 || r == 4 || r == 5 || r == 7 {
			return r
		}
	}
	return 0
}

// binaryRun decodes octets written as eight 0/1 digits separated by
// spaces from i; it returns the bytes and the end of the run.
func binaryRun(text string, i int) ([]byte, int) {
	var dec []byte
	e := i
	for e+8 <= len(text) {
		var b byte
		ok := true
		for k := 0; k < 8; k++ {
			d := text[e+k]
			if d != '0' && d != '1' {
				ok = false
				break
			}
			b = b<<1 | (d - '0')
		}
		if !ok || e+8 < len(text) && (text[e+8] == '0' || text[e+8] == '1') {
			break
		}
		dec = append(dec, b)
		e += 8
		for e < len(text) && text[e] == ' ' {
			e++
		}
	}
	return dec, e
}

func reverseRunes(s string) string {
	b := make([]byte, 0, len(s))
	for i := len(s); i > 0; {
		_, n := utf8.DecodeLastRuneInString(s[:i])
		b = append(b, s[i-n:i]...)
		i -= n
	}
	return string(b)
}

func shiftASCII(s string, n int) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+byte(n))%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+byte(n))%26
		}
	}
	return string(b)
}

// bestShift returns the Caesar shift (not 0, not ROT13, which is read
// anyway) under which the most lowercase words of text are lexicon words,
// when that is at least three words and twice as many as unshifted.
func bestShift(text string) (int, bool) {
	var counts [26]int
	var buf [24]byte
	for i := 0; i < len(text); {
		if !isASCIILetter(text[i]) {
			i++
			continue
		}
		e := i
		for e < len(text) && isASCIILetter(text[e]) {
			e++
		}
		if n := e - i; n >= 3 && n <= len(buf) {
			for sh := 0; sh < 26; sh++ {
				for k := 0; k < n; k++ {
					buf[k] = 'a' + (text[i+k]|0x20-'a'+byte(sh))%26
				}
				if id := lex.find(buf[:n]); id >= 0 && lex.vals[id].cats[0] != 0 {
					counts[sh]++
				}
			}
		}
		i = e
	}
	best := 0
	for sh := 1; sh < 26; sh++ {
		if sh != 13 && counts[sh] > counts[best] {
			best = sh
		}
	}
	return best, best != 0 && counts[best] >= 3
}

// rloViews reads each run after a right-to-left override (U+202E) up to
// its pop (U+202C), the next override or the end of the line, reversed:
// on screen it shows in that order. Bounded by maxCipherText per run and
// four runs.
func rloViews(text string, field int, out []view) []view {
	const rlo, pdf = "\u202e", "\u202c"
	for off, n := 0, 0; n < 4; n++ {
		k := strings.Index(text[off:], rlo)
		if k < 0 {
			break
		}
		start := off + k + len(rlo)
		end := len(text)
		if e := strings.IndexAny(text[start:], "\n\u202c\u202e"); e >= 0 {
			end = start + e
		}
		if end-start > maxCipherText {
			end = start + maxCipherText
			for end > start && !utf8.RuneStart(text[end]) {
				end--
			}
		}
		if end-start >= 8 {
			out = append(out, view{text: reverseRunes(text[start:end]), field: field, kind: viewReversed, segs: []seg{{vStart: 0, oStart: int32(start), oEnd: int32(end)}}})
		}
		off = end
		if strings.HasPrefix(text[off:], pdf) {
			off += len(pdf)
		}
		if off >= len(text) {
			break
		}
	}
	return out
}

// morseCode maps Morse letters and digits to ASCII.
var morseCode = map[string]byte{".-": 'a', "-...": 'b', "-.-.": 'c', "-..": 'd', ".": 'e', "..-.": 'f', "--.": 'g', "....": 'h', "..": 'i', ".---": 'j',
	"-.-": 'k', ".-..": 'l', "--": 'm', "-.": 'n', "---": 'o', ".--.": 'p', "--.-": 'q', ".-.": 'r', "...": 's', "-": 't', "..-": 'u', "...-": 'v',
	".--": 'w', "-..-": 'x', "-.--": 'y', "--..": 'z', "-----": '0', ".----": '1', "..---": '2', "...--": '3', "....-": '4', ".....": '5',
	"-....": '6', "--...": '7', "---..": '8', "----.": '9'}

// morseView reads the longest run of Morse code (dots, dashes, spaces and
// '/' word breaks, at least 8 letters) as text; it runs only when the
// text asks to decode. Bounded by maxCipherText bytes of code.
func morseView(text string, field int) (view, bool) {
	bestS, bestE := 0, 0
	for i := 0; i < len(text); {
		c := text[i]
		if c != '.' && c != '-' {
			i++
			continue
		}
		j := i
		for j < len(text) && j-i < maxCipherText {
			if d := text[j]; d != '.' && d != '-' && d != ' ' && d != '/' {
				break
			}
			j++
		}
		if j-i > bestE-bestS {
			bestS, bestE = i, j
		}
		i = j
	}
	if bestE-bestS < 16 {
		return view{}, false
	}
	var b []byte
	letters := 0
	for _, word := range strings.Split(text[bestS:bestE], "/") {
		for _, code := range strings.Fields(word) {
			ch, ok := morseCode[code]
			if !ok {
				return view{}, false // not Morse: a divider, an ellipsis
			}
			b = append(b, ch)
			letters++
		}
		b = append(b, ' ')
	}
	if letters < 8 {
		return view{}, false
	}
	return view{text: string(b), field: field, kind: viewMorse, segs: []seg{{vStart: 0, oStart: int32(bestS), oEnd: int32(bestE)}}}, true
}
