package dlp

import (
	"bytes"
	"math"
	"mime"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// wideEncoding names a Unicode encoding with code units wider than a byte.
type wideEncoding struct {
	name string // "utf-16le", "utf-32be", …
	unit int    // 2 or 4 bytes; 0 for none
	big  bool   // big-endian
	bom  int    // bytes of byte order mark at the start of the stream
}

var (
	utf16LE = wideEncoding{name: "utf-16le", unit: 2}
	utf16BE = wideEncoding{name: "utf-16be", unit: 2, big: true}
	utf32LE = wideEncoding{name: "utf-32le", unit: 4}
	utf32BE = wideEncoding{name: "utf-32be", unit: 4, big: true}
)

func (w wideEncoding) withBOM() wideEncoding { w.bom = w.unit; return w }

// firstUnit returns the index, in a window starting at stream offset base,
// of the first code unit that starts in it.
func (w wideEncoding) firstUnit(base int64) int {
	if base < int64(w.bom) {
		return int(int64(w.bom) - base)
	}
	return int((int64(w.unit) - (base-int64(w.bom))%int64(w.unit)) % int64(w.unit))
}

// unitAt reads the code unit at b[i:].
func (w wideEncoding) unitAt(b []byte, i int) uint32 {
	if w.unit == 2 {
		if w.big {
			return uint32(b[i])<<8 | uint32(b[i+1])
		}
		return uint32(b[i+1])<<8 | uint32(b[i])
	}
	if w.big {
		return uint32(b[i])<<24 | uint32(b[i+1])<<16 | uint32(b[i+2])<<8 | uint32(b[i+3])
	}
	return uint32(b[i+3])<<24 | uint32(b[i+2])<<16 | uint32(b[i+1])<<8 | uint32(b[i])
}

// next decodes the code point at b[i:]: the rune (utf8.RuneError for an
// invalid unit or unpaired surrogate) and the bytes it took; 0 bytes when
// b ends inside a code unit or a surrogate pair.
func (w wideEncoding) next(b []byte, i int) (rune, int) {
	if i+w.unit > len(b) {
		return 0, 0
	}
	u := w.unitAt(b, i)
	if w.unit == 4 {
		if u > unicode.MaxRune || u >= 0xD800 && u < 0xE000 {
			return utf8.RuneError, 4
		}
		return rune(u), 4
	}
	switch {
	case u >= 0xD800 && u < 0xDC00:
		if i+4 > len(b) {
			return 0, 0
		}
		lo := w.unitAt(b, i+2)
		if lo >= 0xDC00 && lo < 0xE000 {
			return utf16.DecodeRune(rune(u), rune(lo)), 4
		}
		return utf8.RuneError, 2
	case u >= 0xDC00 && u < 0xE000:
		return utf8.RuneError, 2
	}
	return rune(u), 2
}

// wideView decodes the code units of v from index first to UTF-8, with a
// map back to v (invalid units read as U+FFFD). A unit or surrogate pair
// cut by the end of v is left out.
func wideView(v *view, w wideEncoding, first int) *view {
	t := v.text
	if first >= len(t) {
		return nil
	}
	out := make([]byte, 0, len(t)/w.unit*3/2+4)
	m := make([]int32, 0, cap(out)+1)
	var enc [utf8.UTFMax]byte
	i := first
	for {
		r, n := w.next(t, i)
		if n == 0 {
			break
		}
		k := utf8.EncodeRune(enc[:], r)
		out = append(out, enc[:k]...)
		for j := 0; j < k; j++ {
			m = append(m, int32(i))
		}
		i += n
	}
	m = append(m, int32(i))
	return &view{text: out, toParent: m, parent: v}
}

// wideStats describes a head read as one wide encoding.
type wideStats struct {
	n, bad, ascii int
	skew          float64 // entropy of the units' low bytes minus that of their high bytes
}

// statsAs reads head as w. A cut unit at the end counts as bad when whole
// (head is the entire input), and is ignored otherwise. It stops early,
// with bad over the limit, once more than 1 unit in badPer can be bad:
// random binary is refused after a few units.
func statsAs(head []byte, w wideEncoding, whole bool, badPer int) wideStats {
	var st wideStats
	maxBad := len(head) / w.unit / badPer
	var hiCount, loCount [256]int
	i := 0
	for {
		r, n := w.next(head, i)
		if n == 0 {
			if whole && i < len(head) {
				st.n++
				st.bad++
			}
			break
		}
		u := w.unitAt(head, i)
		hiCount[u>>8&0xff]++
		loCount[u&0xff]++
		i += n
		st.n++
		switch {
		case r < utf8.RuneSelf && (r >= 0x20 && r != 0x7f || r == '\t' || r == '\n' || r == '\r'):
			st.ascii++
		case r == '\f' || r == '\v' || r == '\b' || r == 0x1b:
			// Form feeds, backspaces and terminal escapes occur in text.
		case r == utf8.RuneError || r < 0xA0 || !unicode.IsGraphic(r) && !unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			if st.bad++; st.bad > maxBad {
				return st
			}
		}
	}
	if st.n > 0 {
		st.skew = entropy(loCount[:]) - entropy(hiCount[:])
	}
	return st
}

func entropy(counts []int) float64 {
	total := 0
	for _, c := range counts {
		total += c
	}
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(total)
			h -= p * math.Log2(p)
		}
	}
	return h
}

// textLike is the test a head without a byte order mark must pass to be
// read as wide text: at least 8 characters, almost all of them (31 in 32;
// all of them for UTF-32) assigned printable characters, spaces or line
// breaks, and either a quarter of them ASCII (text in Latin script, or
// with ASCII spaces, digits and punctuation: a random 16-bit unit has a 1
// in 512 chance) or, over at least 32 characters, the second bytes of the
// units at least one bit of entropy more predictable than their first
// (text in one script, CJK included: random binary has the same entropy
// in both).
func (st wideStats) textLike(unit int) bool {
	if st.n < 8 || st.bad*32 > st.n || unit == 4 && st.bad > 0 {
		return false
	}
	return st.ascii*4 >= st.n || st.n >= 32 && st.skew >= 1
}

// sniffUnicode recognises UTF-16 and UTF-32 text: by a byte order mark
// (the rest must be mostly text: one invalid or unprintable character in
// 16 fails), or, when the head is not UTF-8 text, by textLike. It
// returns a zero wideEncoding for anything else. whole says head is the
// entire input.
func sniffUnicode(head []byte, whole bool) wideEncoding {
	boms := []struct {
		mark []byte
		enc  wideEncoding
	}{
		{[]byte{0xFF, 0xFE, 0, 0}, utf32LE}, {[]byte{0, 0, 0xFE, 0xFF}, utf32BE},
		{[]byte{0xFF, 0xFE}, utf16LE}, {[]byte{0xFE, 0xFF}, utf16BE},
	}
	for _, b := range boms {
		if bytes.HasPrefix(head, b.mark) {
			st := statsAs(head[len(b.mark):], b.enc, whole, 16)
			if st.bad*16 <= st.n {
				return b.enc.withBOM()
			}
		}
	}
	if len(head) < 16 || strictText(trimCutRune(head, whole)) {
		return wideEncoding{}
	}
	var best wideEncoding
	bestASCII := -1
	for _, w := range []wideEncoding{utf32LE, utf32BE, utf16LE, utf16BE} {
		st := statsAs(head, w, whole, 32)
		if st.textLike(w.unit) && st.ascii > bestASCII {
			best, bestASCII = w, st.ascii
		}
	}
	return best
}

// trimCutRune drops a UTF-8 sequence cut by the end of a prefix.
func trimCutRune(b []byte, whole bool) []byte {
	if whole {
		return b
	}
	for cut := 0; cut < 3 && len(b) > 0 && !utf8.Valid(b); cut++ {
		b = b[:len(b)-1]
	}
	return b
}

// declaredWide returns the encoding a Content-Type's charset names, when it
// is UTF-16 or UTF-32 (byte order from the name, else from a byte order
// mark or the head, else big-endian as RFC 2781 says), and whether one was
// named.
func declaredWide(contentType string, head []byte) (wideEncoding, bool) {
	if contentType == "" {
		return wideEncoding{}, false
	}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return wideEncoding{}, false
	}
	cs := strings.ToLower(params["charset"])
	var cands []wideEncoding
	switch cs {
	case "utf-16le":
		return utf16LE, true
	case "utf-16be":
		return utf16BE, true
	case "utf-32le":
		return utf32LE, true
	case "utf-32be":
		return utf32BE, true
	case "utf-16", "ucs-2", "unicode":
		cands = []wideEncoding{utf16BE, utf16LE}
	case "utf-32", "ucs-4":
		cands = []wideEncoding{utf32BE, utf32LE}
	default:
		return wideEncoding{}, false
	}
	if w := sniffUnicode(head, false); w.unit == cands[0].unit {
		return w, true
	}
	// No byte order mark: the order whose reading has more ASCII.
	best, bestASCII := cands[0], -1
	for _, w := range cands {
		if st := statsAs(head, w, false, 1); st.ascii > bestASCII {
			best, bestASCII = w, st.ascii
		}
	}
	return best, true
}
