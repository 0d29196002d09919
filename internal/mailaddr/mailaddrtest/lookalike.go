// Package mailaddrtest generates the look-alikes of ASCII letters that the e-mail normal form
// (package mailaddr) must never equate with the letters they imitate. Tests of every package
// that compares addresses (the normal form itself, the policy selectors) run over the same set.
package mailaddrtest

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// LookAlike is a non-ASCII character and an ASCII string it can stand for.
type LookAlike struct {
	// Rune is the non-ASCII character.
	Rune rune
	// ASCII is what it imitates or becomes, in lower case ("k", "ss", "fi").
	ASCII string
	// Why names the relation: "lower", "upper", "title", "fold", "turkish", "strings.ToLower",
	// "strings.ToUpper", "full-fold", "nfkc", "nfkd" or "confusable".
	Why string
}

// Confusables are characters that look like ASCII letters without any Unicode mapping between
// them, from Unicode's confusables list (UTS #39): Cyrillic, Greek, Armenian, Hebrew and other
// letters, small capitals, Roman numerals and digit-like letters.
var Confusables = map[rune]string{
	'\u0430': "a", '\u0251': "a", '\u03B1': "a", '\u0561': "w",
	'\u0441': "c", '\u03F2': "c", '\u1D04': "c", '\u217D': "c",
	'\u0501': "d", '\u217E': "d",
	'\u0435': "e", '\u04BD': "e", '\u212E': "e",
	'\u0261': "g", '\u0581': "g",
	'\u04BB': "h", '\u0570': "h",
	'\u0456': "i", '\u0131': "i", '\u03B9': "i", '\u2170': "i", '\u13A5': "i",
	'\u0458': "j", '\u03F3': "j",
	'\u03BA': "k", '\u043A': "k", '\u212A': "k",
	'\u04CF': "l", '\u05C0': "l", '\u0406': "l", '\u2113': "l", '\u01C0': "l", '\u0399': "l",
	'\u217F': "m",
	'\u0578': "n", '\u057C': "n",
	'\u043E': "o", '\u03BF': "o", '\u0585': "o", '\u05E1': "o", '\u0D20': "o", '\u0B66': "o", '\u3007': "o", '\u041E': "o", '\u039F': "o",
	'\u0440': "p", '\u03C1': "p", '\u0420': "p", '\u03A1': "p",
	'\u051B': "q", '\u0563': "q",
	'\u0433': "r",
	'\u0455': "s", '\u017F': "s", '\u0405': "s",
	'\u057D': "u", '\u03C5': "u",
	'\u03BD': "v", '\u0475': "v", '\u2174': "v",
	'\u051D': "w",
	'\u0445': "x", '\u00D7': "x", '\u2179': "x", '\u0425': "x", '\u03A7': "x",
	'\u0443': "y", '\u03B3': "y", '\u04AF': "y",
	'\u1D22': "z", '\u0396': "z",
	'\u0410': "a", '\u0391': "a", '\u0412': "b", '\u0392': "b", '\u0415': "e", '\u0395': "e",
	'\u041D': "h", '\u0397': "h", '\u041A': "k", '\u039A': "k", '\u041C': "m", '\u039C': "m",
	'\u0422': "t", '\u03A4': "t", '\u0417': "3",
}

// LookAlikes returns every non-ASCII code point that a Unicode case mapping (simple or full,
// Go's strings functions, the Turkish rules) or compatibility normalisation (NFKC, NFKD) turns
// into ASCII letters, plus the Confusables, each with its ASCII image. The result is sorted by
// rune, then image.
func LookAlikes() []LookAlike {
	seen := map[LookAlike]bool{}
	var out []LookAlike
	add := func(r rune, image, why string) {
		image = strings.ToLower(image)
		if image == "" || !isASCIILetters(image) {
			return
		}
		la := LookAlike{Rune: r, ASCII: image, Why: why}
		if !seen[la] {
			seen[la] = true
			out = append(out, la)
		}
	}
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if 0xD800 <= r && r <= 0xDFFF {
			continue
		}
		add(r, string(unicode.ToLower(r)), "lower")
		add(r, string(unicode.ToUpper(r)), "upper")
		add(r, string(unicode.ToTitle(r)), "title")
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			add(r, string(f), "fold")
		}
		add(r, string(unicode.TurkishCase.ToLower(r)), "turkish")
		add(r, string(unicode.TurkishCase.ToUpper(r)), "turkish")
		s := string(r)
		add(r, strings.ToLower(s), "strings.ToLower")
		add(r, strings.ToUpper(s), "strings.ToUpper")
		add(r, norm.NFKC.String(s), "nfkc")
		add(r, norm.NFKD.String(s), "nfkd")
		add(r, norm.NFKC.String(strings.ToLower(norm.NFKC.String(s))), "nfkc")
	}
	// Full case foldings (CaseFolding.txt status F) that are all ASCII; Go's tables hold only
	// the simple ones.
	for r, image := range map[rune]string{'\u00DF': "ss", '\u1E9E': "ss", '\uFB00': "ff", '\uFB01': "fi", '\uFB02': "fl",
		'\uFB03': "ffi", '\uFB04': "ffl", '\uFB05': "st", '\uFB06': "st"} {
		add(r, image, "full-fold")
	}
	for r, image := range Confusables {
		add(r, image, "confusable")
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rune != out[j].Rune {
			return out[i].Rune < out[j].Rune
		}
		if out[i].ASCII != out[j].ASCII {
			return out[i].ASCII < out[j].ASCII
		}
		return out[i].Why < out[j].Why
	})
	return out
}

// isASCIILetters reports whether s is made of ASCII letters and digits only.
func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// Variant is an ASCII address and a look-alike of it in which one character or string of
// characters is replaced by a look-alike.
type Variant struct {
	// ASCII is the address written in ASCII, Spoof the look-alike.
	ASCII, Spoof string
	// Where is "local", "local-alone", "domain" or "domain-alone": where the look-alike sits,
	// among ASCII letters or making up the whole local part or label.
	Where string
	LookAlike
}

// Variants returns, for every look-alike, addresses that carry it in the local part and in the
// domain, among ASCII letters and on its own.
func Variants() []Variant {
	las := LookAlikes()
	out := make([]Variant, 0, 4*len(las))
	for _, la := range las {
		r := string(la.Rune)
		for _, v := range []struct{ where, ascii, spoof string }{
			{"local", "q" + la.ASCII + "z@example.com", "q" + r + "z@example.com"},
			{"local-alone", la.ASCII + "@example.com", r + "@example.com"},
			{"domain", "q@q" + la.ASCII + "z.test", "q@q" + r + "z.test"},
			{"domain-alone", "q@" + la.ASCII + ".test", "q@" + r + ".test"},
		} {
			out = append(out, Variant{ASCII: v.ascii, Spoof: v.spoof, Where: v.where, LookAlike: la})
		}
	}
	return out
}
