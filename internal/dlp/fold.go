package dlp

import (
	"unicode"
	"unicode/utf8"
)

//go:generate sh -c "go run confusables_gen.go -tables $(go mod download -json github.com/mtibben/confusables@v0.0.0-20210201002637-9d1b0723b659 | sed -n 's/.*\"Dir\": \"\\(.*\\)\".*/\\1/p')/tables.go > confusables_table.go"

// foldTable maps a BMP character to the ASCII byte it folds to (0: none):
// the letters of Unicode's confusables whose prototype is one ASCII letter
// or digit (Cyrillic а, Greek ο, Cherokee Ꭺ, Latin ɑ…; confusables_table.go)
// and the decimal digits of every script by value (Arabic-Indic ٤ is 4).
// NFKC runs first and already folds full-width forms and mathematical
// alphanumerics. Characters outside the BMP go through foldRune's slow path.
var foldTable = func() *[0x10000]byte {
	var t [0x10000]byte
	for r, c := range confusableASCII {
		if r < 0x10000 {
			t[r] = c
		}
	}
	forDigits(func(r rune, d byte) {
		if r < 0x10000 && r >= utf8.RuneSelf {
			t[r] = '0' + d
		}
	})
	return &t
}()

// forDigits calls fn for every decimal digit (category Nd) with its value.
// Unicode encodes each script's digits as a contiguous run from zero to
// nine, so a digit's value is its distance from the run's start modulo ten
// (TestDigitFold checks this against the Unicode tables).
func forDigits(fn func(r rune, d byte)) {
	for _, rg := range unicode.Nd.R16 {
		for r := rune(rg.Lo); r <= rune(rg.Hi); r += rune(rg.Stride) {
			fn(r, byte((r-rune(rg.Lo))%10))
		}
	}
	for _, rg := range unicode.Nd.R32 {
		for r := rune(rg.Lo); r <= rune(rg.Hi); r += rune(rg.Stride) {
			fn(r, byte((r-rune(rg.Lo))%10))
		}
	}
}

var astralDigits = func() map[rune]byte {
	m := map[rune]byte{}
	forDigits(func(r rune, d byte) {
		if r >= 0x10000 {
			m[r] = '0' + d
		}
	})
	for r, c := range confusableASCII {
		if r >= 0x10000 {
			m[r] = c
		}
	}
	return m
}()

// foldRune returns the ASCII byte r folds to, or 0.
func foldRune(r rune) byte {
	if r < 0x10000 {
		return foldTable[r]
	}
	return astralDigits[r]
}

// foldView folds look-alike letters and other scripts' digits of v to
// ASCII (see foldTable), so a keyword spelt with a Cyrillic letter
// (DB_PАSSWORD) or a number in Arabic-Indic digits reads as ASCII. It
// returns nil when v has nothing to fold.
func foldView(v *view) *view {
	t := v.text
	if isASCII(t) {
		return nil
	}
	first := -1
	for i := 0; i < len(t); {
		if t[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(t[i:])
		if foldRune(r) != 0 {
			first = i
			break
		}
		i += n
	}
	if first < 0 {
		return nil
	}
	out := make([]byte, first, len(t))
	copy(out, t[:first])
	m := make([]int32, first, len(t)+1)
	for i := range m {
		m[i] = int32(i)
	}
	for i := first; i < len(t); {
		if t[i] < utf8.RuneSelf {
			out = append(out, t[i])
			m = append(m, int32(i))
			i++
			continue
		}
		r, n := utf8.DecodeRune(t[i:])
		if c := foldRune(r); c != 0 {
			out = append(out, c)
			m = append(m, int32(i))
		} else {
			out = append(out, t[i:i+n]...)
			for k := 0; k < n; k++ {
				m = append(m, int32(i))
			}
		}
		i += n
	}
	m = append(m, int32(len(t)))
	return &view{text: out, toParent: m, parent: v}
}

// foldText folds b like foldView (for keyword searches near a match and
// for compiling keywords); ASCII input is returned as is.
func foldText(b []byte) []byte {
	if isASCII(b) {
		return b
	}
	if f := foldView(&view{text: b}); f != nil {
		return f.text
	}
	return b
}

// foldString is foldText for keywords and triggers.
func foldString(s string) string { return string(foldText([]byte(s))) }
