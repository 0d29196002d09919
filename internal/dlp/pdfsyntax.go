package dlp

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf16"
)

// PDF syntax for the text extractor of pdf.go: a lexer shared by object
// dictionaries, content streams and CMaps, the content-stream operators
// that show text, and ToUnicode maps.

func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isPDFDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// pdfLexer reads PDF values from b. Every call consumes at least one byte
// or reports the end, so malformed input cannot make a caller loop.
type pdfLexer struct {
	b    []byte
	pos  int
	refs bool // "N G R" is a reference (object syntax; content streams have none)
	// room is how many more array and dictionary elements may be kept:
	// boxed values take ten times the bytes they are written in. Past it,
	// elements are dropped and truncated is set.
	room      *int
	truncated bool
}

func (l *pdfLexer) keep() bool {
	if *l.room <= 0 {
		l.truncated = true
		return false
	}
	*l.room--
	return true
}

func (l *pdfLexer) skipSpace() {
	for l.pos < len(l.b) {
		switch c := l.b[l.pos]; {
		case isPDFSpace(c):
			l.pos++
		case c == '%':
			for l.pos < len(l.b) && l.b[l.pos] != '\n' && l.b[l.pos] != '\r' {
				l.pos++
			}
		default:
			return
		}
	}
}

// regular reads a run of regular characters (a number, keyword or name).
func (l *pdfLexer) regular() []byte {
	start := l.pos
	for l.pos < len(l.b) && !isPDFSpace(l.b[l.pos]) && !isPDFDelim(l.b[l.pos]) {
		l.pos++
	}
	return l.b[start:l.pos]
}

// value reads one value: a number (float64), pdfName, pdfString, pdfRef,
// pdfArray, pdfDict or pdfKeyword (">>" and "]" end a container).
func (l *pdfLexer) value(depth int) (any, bool) {
	l.skipSpace()
	if l.pos >= len(l.b) {
		return nil, false
	}
	c := l.b[l.pos]
	two := l.pos+1 < len(l.b) && l.b[l.pos+1] == c
	switch {
	case c == '(':
		return pdfString(l.literal()), true
	case c == '<' && two:
		l.pos += 2
		return l.dictionary(depth), true
	case c == '<':
		return pdfString(l.hexString()), true
	case c == '>' && two:
		l.pos += 2
		return pdfKeyword(">>"), true
	case c == '[':
		l.pos++
		return l.array(depth), true
	case c == '/':
		l.pos++
		return pdfName(decodeName(l.regular())), true
	case isPDFDelim(c):
		l.pos++
		return pdfKeyword(l.b[l.pos-1 : l.pos]), true
	}
	tok := l.regular()
	if !isNumberStart(tok[0]) {
		return pdfKeyword(tok), true
	}
	n, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return pdfKeyword(tok), true
	}
	if l.refs && allDigits(tok) {
		save := l.pos
		l.skipSpace()
		if gen := l.regular(); allDigits(gen) {
			l.skipSpace()
			if r := l.regular(); len(r) == 1 && r[0] == 'R' {
				return pdfRef(n), true
			}
		}
		l.pos = save
	}
	return n, true
}

func isNumberStart(c byte) bool { return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' }

func (l *pdfLexer) array(depth int) pdfArray {
	var a pdfArray
	for depth < pdfMaxNesting {
		v, ok := l.value(depth + 1)
		if !ok || v == pdfKeyword("]") {
			break
		}
		if l.keep() {
			a = append(a, v)
		}
	}
	return a
}

func (l *pdfLexer) dictionary(depth int) pdfDict {
	var d pdfDict
	for depth < pdfMaxNesting {
		k, ok := l.value(depth + 1)
		if !ok || k == pdfKeyword(">>") {
			break
		}
		key, isName := k.(pdfName)
		if !isName {
			continue
		}
		v, ok := l.value(depth + 1)
		if !ok || v == pdfKeyword(">>") {
			break
		}
		if l.keep() {
			d = append(d, pdfEntry{key, v})
		}
	}
	return d
}

// literal reads "(…)" with balanced parentheses and escapes.
func (l *pdfLexer) literal() []byte {
	l.pos++
	var out []byte
	for level := 1; l.pos < len(l.b); {
		c := l.b[l.pos]
		l.pos++
		switch c {
		case '(':
			level++
		case ')':
			if level--; level == 0 {
				return out
			}
		case '\\':
			if l.pos >= len(l.b) {
				return out
			}
			c = l.b[l.pos]
			l.pos++
			switch c {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r', '\n': // line continuation
				if c == '\r' && l.pos < len(l.b) && l.b[l.pos] == '\n' {
					l.pos++
				}
				continue
			case '0', '1', '2', '3', '4', '5', '6', '7':
				v := int(c - '0')
				for k := 0; k < 2 && l.pos < len(l.b) && l.b[l.pos] >= '0' && l.b[l.pos] <= '7'; k++ {
					v = v*8 + int(l.b[l.pos]-'0')
					l.pos++
				}
				c = byte(v)
			}
		}
		out = append(out, c)
	}
	return out
}

// hexString reads "<…>", ignoring whitespace; an odd last digit is
// followed by 0.
func (l *pdfLexer) hexString() []byte {
	l.pos++
	var out []byte
	var acc byte
	n := 0
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		if c == '>' {
			break
		}
		v, ok := hexValue(c)
		if !ok {
			continue
		}
		acc = acc<<4 | v
		if n++; n%2 == 0 {
			out = append(out, acc)
			acc = 0
		}
	}
	if n%2 == 1 {
		out = append(out, acc<<4)
	}
	return out
}

func hexValue(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodeName undoes #xx escapes in a name.
func decodeName(b []byte) string {
	if bytes.IndexByte(b, '#') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '#' && i+2 < len(b) {
			hi, ok1 := hexValue(b[i+1])
			lo, ok2 := hexValue(b[i+2])
			if ok1 && ok2 {
				out = append(out, hi<<4|lo)
				i += 2
				continue
			}
		}
		out = append(out, b[i])
	}
	return string(out)
}

// skipInlineImage skips the data after an inline image's ID operator, up
// to "EI" between whitespace.
func (l *pdfLexer) skipInlineImage() {
	for i := l.pos + 1; i+2 <= len(l.b); i++ {
		if l.b[i] == 'E' && l.b[i+1] == 'I' && isPDFSpace(l.b[i-1]) && (i+2 == len(l.b) || isPDFSpace(l.b[i+2])) {
			l.pos = i + 2
			return
		}
	}
	l.pos = len(l.b)
}

// pdfFont decodes the strings shown with one font: through its ToUnicode
// map in codes of codeLen bytes, or as Latin-1 (close to WinAnsi). Glyph
// widths tell a kerning move from a gap between words.
type pdfFont struct {
	codeLen      int
	toUnicode    map[uint32]string
	widths       map[uint32]float64 // thousandths of an em, by code
	widthRanges  [][3]float64       // first code, last code, width
	defaultWidth float64
}

// decode appends the text of s and returns its width in thousandths of
// an em.
func (f *pdfFont) decode(out *bytes.Buffer, s []byte) float64 {
	if f == nil {
		out.Write(latin1(nil, s))
		return 500 * float64(len(s))
	}
	width := 0.0
	for i := 0; i+f.codeLen <= len(s); i += f.codeLen {
		code := codeOf(s[i : i+f.codeLen])
		width += f.width(code)
		if u, ok := f.toUnicode[code]; ok {
			out.WriteString(u)
		} else if f.codeLen == 1 {
			out.WriteRune(rune(code))
		}
	}
	return width
}

func (f *pdfFont) width(code uint32) float64 {
	if w, ok := f.widths[code]; ok {
		return w
	}
	for _, r := range f.widthRanges {
		if float64(code) >= r[0] && float64(code) <= r[1] {
			return r[2]
		}
	}
	return f.defaultWidth
}

// readWidths reads /FirstChar and /Widths of a simple font, or /DW and /W
// of a Type0 font's descendant.
func (d *pdfDoc) readWidths(font pdfDict, f *pdfFont) {
	f.widths = map[uint32]float64{}
	f.defaultWidth = 500 // the standard fonts have no /Widths: an average
	if f.codeLen == 1 {
		first, _ := font.get("FirstChar").(float64)
		for i, w := range d.array(font.get("Widths")) {
			if n, ok := w.(float64); ok && i < 256 && first >= 0 {
				f.widths[uint32(first)+uint32(i)] = n
			}
		}
		return
	}
	desc := d.dict(d.array(font.get("DescendantFonts")).at(0))
	f.defaultWidth = 1000
	if dw, ok := desc.get("DW").(float64); ok {
		f.defaultWidth = dw
	}
	w := d.array(desc.get("W"))
	for i := 0; i+1 < len(w) && len(f.widths) < pdfMaxCMapEntries && len(f.widthRanges) < 10_000; {
		first, _ := w[i].(float64)
		if list, ok := d.resolve(w[i+1]).(pdfArray); ok { // c [w1 w2 …]
			for k, x := range list {
				if n, ok := x.(float64); ok && first >= 0 {
					f.widths[uint32(first)+uint32(k)] = n
				}
			}
			i += 2
			continue
		}
		if i+2 < len(w) { // c1 c2 w
			last, _ := w[i+1].(float64)
			n, _ := w[i+2].(float64)
			f.widthRanges = append(f.widthRanges, [3]float64{first, last, n})
		}
		i += 3
	}
}

func codeOf(b []byte) uint32 {
	var c uint32
	for _, x := range b {
		c = c<<8 | uint32(x)
	}
	return c
}

// font returns the font named by a resource entry (a reference or, rarely,
// an inline dictionary), reading its ToUnicode map once per object.
func (d *pdfDoc) font(v any) *pdfFont {
	ref, isRef := v.(pdfRef)
	if f, ok := d.fonts[int(ref)]; isRef && ok {
		return f
	}
	dict := d.dict(v)
	f := &pdfFont{codeLen: 1}
	if dict.name("Subtype") == "Type0" {
		f.codeLen = 2
	}
	d.readWidths(dict, f)
	if tu, ok := dict.get("ToUnicode").(pdfRef); ok {
		if o := d.objs[int(tu)]; o != nil && o.stream != nil {
			o.used = true
			data, err := d.decodeStream(o)
			if err != nil {
				d.fail("ToUnicode map", int(tu), err)
			}
			d.parseCMap(data, f)
		}
	}
	if isRef {
		d.fonts[int(ref)] = f
	}
	return f
}

// parseCMap reads the code length and the bfchar and bfrange mappings of a
// ToUnicode CMap; destinations are UTF-16BE.
func (d *pdfDoc) parseCMap(data []byte, f *pdfFont) {
	room := pdfMaxValues
	l := &pdfLexer{b: data, room: &room}
	var section pdfKeyword
	var ops []any
	entries := 0
	set := func(code uint32, units []uint16) bool {
		// Counted per mapping, not per distinct code: repeated ranges
		// must not loop for long either.
		if entries++; entries > pdfMaxCMapEntries {
			d.s.incomplete("%s: ToUnicode map over %d entries", pathString(d.path), pdfMaxCMapEntries)
			return false
		}
		if f.toUnicode == nil {
			f.toUnicode = map[uint32]string{}
		}
		f.toUnicode[code] = string(utf16.Decode(units))
		return true
	}
	for {
		v, ok := l.value(0)
		if !ok {
			return
		}
		if kw, isKw := v.(pdfKeyword); isKw {
			section, ops = kw, ops[:0]
			continue
		}
		ops = append(ops, v)
		switch {
		case section == "begincodespacerange" && len(ops) == 2:
			if lo, ok := ops[0].(pdfString); ok && len(lo) >= 1 && len(lo) <= 4 {
				f.codeLen = len(lo)
			}
		case section == "beginbfchar" && len(ops) == 2:
			src, ok1 := ops[0].(pdfString)
			dst, ok2 := ops[1].(pdfString)
			if ok1 && ok2 && len(src) <= 4 && !set(codeOf(src), utf16Units(dst)) {
				return
			}
		case section == "beginbfrange" && len(ops) == 3:
			lo, ok1 := ops[0].(pdfString)
			hi, ok2 := ops[1].(pdfString)
			if !ok1 || !ok2 || len(lo) > 4 || len(hi) > 4 || codeOf(hi) < codeOf(lo) {
				break
			}
			for i := uint32(0); i <= codeOf(hi)-codeOf(lo); i++ {
				var units []uint16
				switch dst := ops[2].(type) {
				case pdfString:
					units = utf16Units(dst)
					if len(units) > 0 {
						units[len(units)-1] += uint16(i)
					}
				case pdfArray:
					if int(i) >= len(dst) {
						break
					}
					s, _ := dst[i].(pdfString)
					units = utf16Units(s)
				}
				if !set(codeOf(lo)+i, units) {
					return
				}
			}
		default:
			if len(ops) < 3 {
				continue
			}
		}
		ops = ops[:0]
	}
}

func utf16Units(b []byte) []uint16 {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return u
}

// showText interprets a content stream's text operators and appends the
// text shown, with spaces and newlines where the text position moves.
func (d *pdfDoc) showText(content []byte, res pdfDict, out *bytes.Buffer, formDepth int) {
	if d.textRuns++; d.textRuns > pdfMaxTextRuns {
		d.s.incomplete("%s: more than %d PDF content streams", pathString(d.path), pdfMaxTextRuns)
		return
	}
	fonts := d.dict(res.get("Font"))
	var font *pdfFont
	pos := &textPos{out: out, a: 1, d: 1, penY: math.NaN()}
	room := d.s.o.MaxDecodedBytes - d.s.decoded
	valueRoom := pdfMaxValues
	l := &pdfLexer{b: content, room: &valueRoom}
	var ops []any
	number := func(i int) float64 { // the i-th of n operands
		n, _ := ops[i].(float64)
		return n
	}
	lastString := func() []byte {
		if len(ops) == 0 {
			return nil
		}
		s, _ := ops[len(ops)-1].(pdfString)
		return s
	}
	for int64(out.Len()) <= room {
		v, ok := l.value(0)
		if !ok {
			if l.truncated {
				d.s.incomplete("%s: more than %d values in a PDF content stream", pathString(d.path), pdfMaxValues)
			}
			return
		}
		op, isOp := v.(pdfKeyword)
		if !isOp {
			if len(ops) >= 64 { // not an operand list: garbage
				ops = ops[:0]
			}
			ops = append(ops, v)
			continue
		}
		switch op {
		case "BT":
			pos.begin()
		case "Tf":
			if len(ops) >= 2 {
				name, _ := ops[len(ops)-2].(pdfName)
				font = d.font(fonts.get(name))
				pos.size = number(len(ops) - 1)
			}
		case "Tj":
			pos.shown(font.decode(out, lastString()))
		case "'", `"`:
			pos.nextLine()
			pos.shown(font.decode(out, lastString()))
		case "TJ":
			if len(ops) > 0 {
				arr, _ := ops[len(ops)-1].(pdfArray)
				for _, e := range arr {
					switch x := e.(type) {
					case pdfString:
						pos.shown(font.decode(out, x))
					case float64:
						if x < -200 {
							out.WriteByte(' ')
						}
						pos.shown(-x)
					}
				}
			}
		case "Td", "TD":
			if len(ops) >= 2 {
				pos.moveTo(pos.baseX+number(len(ops)-2)*pos.a, pos.baseY+number(len(ops)-1)*pos.d)
			}
		case "Tm":
			if len(ops) >= 6 {
				pos.a, pos.d = number(len(ops)-6), number(len(ops)-3)
				pos.moveTo(number(len(ops)-2), number(len(ops)-1))
			}
		case "T*":
			pos.nextLine()
		case "ID":
			l.skipInlineImage()
		case "Do":
			if len(ops) > 0 && formDepth < pdfMaxFormDepth {
				name, _ := ops[len(ops)-1].(pdfName)
				d.showForm(d.dict(res.get("XObject")).get(name), res, out, formDepth)
			}
		}
		ops = ops[:0]
	}
	d.s.incomplete("%s: decoded bytes over %d", pathString(d.path), d.s.o.MaxDecodedBytes)
}

// textPos follows where text is drawn, roughly (no rotation, no current
// transformation matrix), to separate words and lines: a move to another
// line is a newline, a move along the line a space only past the end of
// the text shown. Writers place kerned runs with Td (Chrome) or each run
// with its own BT, Tm … ET (Word).
type textPos struct {
	out          *bytes.Buffer
	baseX, baseY float64 // start of the current line, which Td is relative to
	a, d         float64 // horizontal and vertical scale of the text matrix
	penX, penY   float64 // end of the text shown; penY is NaN when unknown
	size         float64 // font size
}

// begin starts a text object: the text matrix is the identity again, but
// the pen is kept so the next run can continue the same line.
func (t *textPos) begin() {
	t.baseX, t.baseY, t.a, t.d = 0, 0, 1, 1
	if math.IsNaN(t.penY) {
		t.penX, t.penY = 0, 0
	}
}

// shown advances the pen by a width in thousandths of an em.
func (t *textPos) shown(width float64) { t.penX += width / 1000 * t.size * t.a }

func (t *textPos) moveTo(x, y float64) {
	emX, emY := math.Abs(t.size*t.a), math.Abs(t.size*t.d)
	if emX == 0 || emY == 0 {
		emX, emY = 1, 1
	}
	if math.IsNaN(t.penY) || math.Abs(y-t.penY) > 0.3*emY {
		t.nextLine()
	} else if gap := x - t.penX; gap > 0.15*emX || gap < -emX {
		t.out.WriteByte(' ')
	}
	t.baseX, t.baseY, t.penX, t.penY = x, y, x, y
}

// nextLine ends the line; the position of the next is not known.
func (t *textPos) nextLine() {
	if n := t.out.Len(); n > 0 && t.out.Bytes()[n-1] != '\n' {
		t.out.WriteByte('\n')
	}
	t.penY = math.NaN()
}

// showForm shows the text of a form XObject drawn with Do.
func (d *pdfDoc) showForm(v any, res pdfDict, out *bytes.Buffer, formDepth int) {
	ref, ok := v.(pdfRef)
	o := d.objs[int(ref)]
	if !ok || o == nil || o.stream == nil {
		return
	}
	dict, _ := o.value.(pdfDict)
	if dict.name("Subtype") != "Form" {
		return
	}
	o.used = true
	data, cached := d.forms[int(ref)]
	if !cached {
		var err error
		if data, err = d.decodeStream(o); err != nil {
			d.fail("form XObject", int(ref), err)
		}
		d.forms[int(ref)] = data
	}
	if r := d.dict(dict.get("Resources")); r != nil {
		res = r
	}
	d.showText(data, res, out, formDepth+1)
	out.WriteByte('\n')
}
