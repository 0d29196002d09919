package dlp

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// isASCII reports whether b has no byte ≥ 0x80, 32 bytes at a time.
func isASCII(b []byte) bool {
	const hi = 0x8080808080808080
	i := 0
	for ; i+32 <= len(b); i += 32 {
		w := b[i : i+32 : i+32]
		if (binary.LittleEndian.Uint64(w)|binary.LittleEndian.Uint64(w[8:])|
			binary.LittleEndian.Uint64(w[16:])|binary.LittleEndian.Uint64(w[24:]))&hi != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= 0x80 {
			return false
		}
	}
	return true
}

// normalizeView applies Unicode NFKC and removes format (Cf) characters
// such as zero-width spaces, soft hyphens and BOMs, so "４１１１" and
// "4\u200b1\u200b1\u200b1" read as "4111". ASCII input is returned as is.
func normalizeView(v *view) *view {
	if isASCII(v.text) {
		return v
	}
	src := v.text
	out := make([]byte, 0, len(src))
	m := make([]int32, 0, len(src)+1)
	var it norm.Iter
	it.Init(norm.NFKC, src)
	for !it.Done() {
		p := it.Pos()
		seg := it.Next()
		for len(seg) > 0 {
			r, n := utf8.DecodeRune(seg)
			if r == utf8.RuneError && n == 1 {
				out = append(out, seg[0])
				m = append(m, int32(p))
			} else if !unicode.Is(unicode.Cf, r) {
				out = append(out, seg[:n]...)
				for k := 0; k < n; k++ {
					m = append(m, int32(p))
				}
			}
			seg = seg[n:]
		}
	}
	m = append(m, int32(len(src)))
	return &view{text: out, toParent: m, parent: v}
}

// needsUnescape reports whether t holds percent-encoding, JSON/JS escapes
// or form-encoded '+' spaces worth decoding.
func needsUnescape(t []byte) bool {
	ps := plusSpaces{t: t}
	for _, c := range []byte{'%', '\\', '+'} {
		for off := 0; ; {
			i := bytes.IndexByte(t[off:], c)
			if i < 0 {
				break
			}
			off += i + 1
			if escapeAt(t, off-1) || c == '+' && ps.at(off-1) {
				return true
			}
		}
	}
	return false
}

// plusSpaces tells which '+' of t stand for a space: those in a token (a
// run without white space, quotes or angle brackets) that reads as form
// fields or a query (key=value, or '&'), and those between two groups of
// digits. A token is examined once, so the cost is linear.
type plusSpaces struct {
	t    []byte
	end  int // end of the token last examined
	form bool
}

func (p *plusSpaces) at(i int) bool {
	t := p.t
	if i >= p.end {
		s := i
		for s > 0 && !isTokenDelim(t[s-1]) {
			s--
		}
		e := i
		for e < len(t) && !isTokenDelim(t[e]) {
			e++
		}
		p.end, p.form = e, formToken(t[s:e])
	}
	return p.form || plusBetweenDigitGroups(t, i)
}

func isTokenDelim(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' || c == '<' || c == '>'
}

// formToken reports a token holding '&' or a key=value pair ('=' after a
// name character and before something other than '='): base64, whose '='
// only pads its end, is not one.
func formToken(tok []byte) bool {
	if bytes.IndexByte(tok, '&') >= 0 {
		return true
	}
	for j := 1; j+1 < len(tok); j++ {
		if tok[j] == '=' && tok[j+1] != '=' && (isAlnum(tok[j-1]) || strings.IndexByte("_.-]", tok[j-1]) >= 0) {
			return true
		}
	}
	return false
}

func escapeAt(t []byte, i int) bool {
	if i+2 >= len(t) {
		return false
	}
	{
		switch t[i] {
		case '%':
			if isHexByte(t[i+1]) && isHexByte(t[i+2]) {
				return true
			}
		case '\\':
			switch t[i+1] {
			case 'u', 'x', 'n', 't', 'r', '"', '/', '\\':
				return true
			}
		case '+':
			if plusBetweenDigitGroups(t, i) {
				return true
			}
		}
	}
	return false
}

// plusBetweenDigitGroups reports a '+' between two groups of digits
// ("4539+1488", a form-encoded card number): each side is digits up to a
// byte that is not a letter. Inside base64 ("F4+9Up") it is literal.
func plusBetweenDigitGroups(t []byte, i int) bool {
	if i == 0 || i+1 >= len(t) || !isDigit(t[i-1]) || !isDigit(t[i+1]) {
		return false
	}
	l := i - 1
	for l > 0 && isDigit(t[l-1]) {
		l--
	}
	r := i + 1
	for r < len(t) && isDigit(t[r]) {
		r++
	}
	return (l == 0 || !isAlnum(t[l-1])) && (r == len(t) || !isAlnum(t[r]))
}

func isHexByte(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// unescapeView decodes JSON \uXXXX (with surrogate pairs), backslash and
// \xXX escapes or, when there are none, percent-encoding (with '+' as
// space where plusSpaces says so), keeping a map to the parent.
func unescapeView(v *view) *view { return unescapeViewForm(v, false) }

// unescapeViewForm is unescapeView that, when form is set (the values of
// form fields, joined), reads every '+' as a space.
func unescapeViewForm(v *view, form bool) *view {
	t := v.text
	ps := plusSpaces{t: t, form: form, end: len(t) + 1}
	if !form {
		ps.end = 0
	}
	// Backslash escapes are decoded first, in a level of their own, and
	// percent-encoding in the next: a form body held in a JSON string
	// ("a=x\u0026b=%0Ay") then shows its fields before their values are
	// decoded.
	pct := !hasBackslashEscape(t)
	out := make([]byte, 0, len(t))
	m := make([]int32, 0, len(t)+1)
	put := func(b []byte, at int) {
		for _, c := range b {
			out = append(out, c)
			m = append(m, int32(at))
		}
	}
	for i := 0; i < len(t); {
		c := t[i]
		switch {
		case pct && c == '%' && i+2 < len(t) && isHexByte(t[i+1]) && isHexByte(t[i+2]):
			put([]byte{hexVal(t[i+1])<<4 | hexVal(t[i+2])}, i)
			i += 3
		case pct && c == '+' && ps.at(i):
			put([]byte{' '}, i)
			i++
		case c == '\\' && i+1 < len(t):
			switch e := t[i+1]; e {
			case 'u':
				if r, n := decodeJSONU(t[i:]); n > 0 {
					var b [4]byte
					k := utf8.EncodeRune(b[:], r)
					put(b[:k], i)
					i += n
					continue
				}
				put(t[i:i+1], i)
				i++
			case 'x':
				if i+3 < len(t) && isHexByte(t[i+2]) && isHexByte(t[i+3]) {
					put([]byte{hexVal(t[i+2])<<4 | hexVal(t[i+3])}, i)
					i += 4
					continue
				}
				put(t[i:i+1], i)
				i++
			case 'n', 't', 'r', 'b', 'f':
				put([]byte{map[byte]byte{'n': '\n', 't': '\t', 'r': '\r', 'b': '\b', 'f': '\f'}[e]}, i)
				i += 2
			case '"', '/', '\\', '\'':
				put([]byte{e}, i)
				i += 2
			default:
				put(t[i:i+1], i)
				i++
			}
		default:
			put(t[i:i+1], i)
			i++
		}
	}
	m = append(m, int32(len(t)))
	return &view{text: out, toParent: m, parent: v}
}

// hasBackslashEscape reports a backslash escape that unescapeView decodes.
func hasBackslashEscape(t []byte) bool {
	for off := 0; ; {
		i := bytes.IndexByte(t[off:], '\\')
		if i < 0 {
			return false
		}
		off += i + 1
		if escapeAt(t, off-1) {
			return true
		}
	}
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		if !isHexByte(c) {
			return 0, false
		}
		r = r<<4 | rune(hexVal(c))
	}
	return r, true
}

// decodeJSONU decodes \uXXXX (and a following low surrogate) at b.
func decodeJSONU(b []byte) (rune, int) {
	if len(b) < 6 {
		return 0, 0
	}
	r, ok := hex4(b[2:])
	if !ok {
		return 0, 0
	}
	if r >= 0xD800 && r < 0xDC00 && len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
		if lo, ok := hex4(b[8:]); ok && lo >= 0xDC00 && lo < 0xE000 {
			return (r-0xD800)<<10 | (lo - 0xDC00) + 0x10000, 12
		}
	}
	return r, 6
}
