package mailaddr

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/gatehouse/gatehouse/internal/mailaddr/mailaddrtest"
)

// validCases are addresses with a normal form; they also seed FuzzNormalizeEmail.
var validCases = []struct{ in, want string }{
	{"kate@example.com", "kate@example.com"},
	{"Kate@Example.COM", "kate@example.com"},
	{"KATE@EXAMPLE.COM", "kate@example.com"},
	{"first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"},
	{"a!#$%&'*+-/=?^_`{|}~@example.com", "a!#$%&'*+-/=?^_`{|}~@example.com"},
	{"o'neil@example.com", "o'neil@example.com"},
	{"a@b.c", "a@b.c"},
	{"a@localhost", "a@localhost"},
	{"a@1.2.3.com", "a@1.2.3.com"},
	{"x@xn--bcher-kva.de", "x@xn--bcher-kva.de"},
	{"x@XN--BCHER-KVA.DE", "x@xn--bcher-kva.de"},
	// Non-ASCII: kept exactly as written (only A-Z fold), domains to A-labels.
	{"josé@example.com", "josé@example.com"},
	{"x@bücher.de", "x@xn--bcher-kva.de"},
	{"x@faß.de", "x@xn--fa-hia.de"},
	{"катя@пример.рф", "катя@xn--e1afmkfd.xn--p1ai"},
	{"катя@xn--e1afmkfd.xn--p1ai", "катя@xn--e1afmkfd.xn--p1ai"},
	{"сосо@example.com", "сосо@example.com"}, // all Cyrillic: a different address from coco@
	{"x@сосо.com", "x@xn--n1aahb.com"},
	{"用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"},
	{"Yamadaたろう@example.jp", "yamadaたろう@example.jp"},
	{"किशोर@example.com", "किशोर@example.com"},
	{"δοκιμή@example.gr", "δοκιμή@example.gr"},
	{"σοφια@example.gr", "σοφια@example.gr"},
	{"ⰰ@example.com", "ⰰ@example.com"},             // Glagolitic lower case
	{"ꭰ@example.com", "ꭰ@example.com"},             // Cherokee: its lower case is the one admitted
	{"é\u0301@example.com", "é\u0301@example.com"}, // a mark on a non-ASCII letter, NFC as written
	{strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 64) + "@example.com"},
}

// invalidCases are addresses without a normal form and a word of the problem reported.
var invalidCases = []struct{ in, problem string }{
	{"", "empty"},
	{"kate", "no '@'"},
	{"kate@", "domain: empty"},
	{"@example.com", "local part: empty"},
	{"a@b@example.com", "more than one '@'"},
	{`"kate"@example.com`, "quoted"},
	{`"a@b"@example.com`, "more than one '@'"},
	{"Kate <kate@example.com>", "U+0020"},
	{"<kate@example.com>", "U+003C"},
	{"kate@example.com (Kate)", "U+0020"},
	{"kate(x)@example.com", "U+0028"},
	{" kate@example.com", "U+0020"},
	{"kate@example.com ", "domain"},
	{"ka te@example.com", "U+0020"},
	{"ka\tte@example.com", "invisible"},
	{"kate@example.com\n", "invisible"},
	{"ka\x00te@example.com", "invisible"},
	{"kate@[192.0.2.1]", "address literals"},
	{"kate@[IPv6:::1]", "address literals"},
	{"kate@192.0.2.1", "all digits"},
	{"kate@example.com.", "trailing '.'"},
	{".kate@example.com", "leading, trailing or doubled"},
	{"kate.@example.com", "leading, trailing or doubled"},
	{"ka..te@example.com", "leading, trailing or doubled"},
	{"kate@exa_mple.com", "U+005F"},
	{"kate@-example.com", "invalid label"},
	{"kate@example..com", "invalid label"},
	{"kate@exa mple.com", "domain"},
	{"\xffkate@example.com", "UTF-8"},
	{strings.Repeat("a", 65) + "@example.com", "longer than 64"},
	{"a@" + strings.Repeat("b", 64) + ".com", "label"},
	{"a@" + strings.Repeat(strings.Repeat("b", 63)+".", 4) + "com", "longer than 253"},
	{strings.Repeat("a", 64) + "@" + strings.Repeat(strings.Repeat("b", 62)+".", 3) + "com", "longer than 254"},
	{strings.Repeat("a", 5000) + "@example.com", "longer than"},
	// Case-folding traps.
	{"\u212Aate@example.com", "U+212A"},
	{"\u017Fam@example.com", "U+017F"},
	{"x@\u017Fales.test", "U+017F"},
	{"x@\u212Aate.test", "U+212A"},
	{"\u0130nfo@example.com", "U+0130"},
	{"\u0131nfo@example.com", "U+0131"},
	{"stra\u00DFe@example.com", "U+00DF"},
	{"STRA\u1E9EE@example.com", "U+1E9E"},
	{"\u212Bngstrom@example.com", "U+212B"},
	{"x@B\u00DCCHER.de", "U+00DC"},
	{"JOS\u00C9@example.com", "U+00C9 is a case variant of U+00E9"},
	{"\u03A3\u03BF\u03C6\u03B9\u03B1@example.gr", "U+03A3 is a case variant"},
	{"\u03C3\u03BF\u03C6\u03B9\u03B1\u03C2@example.gr", "U+03C2 is a case variant of U+03C3"},
	{"\u01C5@example.com", "U+01C5"},
	{"\u13A0@example.com", "U+13A0 is a case variant"},
	{"x@xn--ales-pbb.test", "invalid label"}, // ſales as an A-label
	{"x@xn--sales-.test", "invalid label"},   // an A-label of an ASCII label
	{"x@xn--abc.test", "invalid label"},
	// Compatibility forms.
	{"\uFF4Bate@example.com", "U+FF4B"},
	{"\U0001D424ate@example.com", "U+1D424"},
	{"\uFB01le@example.com", "U+FB01"},
	{"kate\u00B2@example.com", "U+00B2"},
	{"x@\uFF45xample.com", "U+FF45"},
	// Confusables among Latin letters.
	{"k\u0430te@example.com", "Latin, Cyrillic"},
	{"g\u03BFod@example.com", "Latin, Greek"},
	{"kate@ex\u0430mple.com", "Latin, Cyrillic"},
	// Marks in positions that decorate ASCII.
	{"kate\u0301@example.com", "combining mark"},
	{"\u0301kate@example.com", "combining mark"},
	{"a.\u0301b@example.com", "combining mark"},
	{"jose\u0301@example.com", "combining mark"},
	{"x\u20DD@example.com", "U+20DD"},
	// Symbols and punctuation outside ASCII.
	{"kate\u2024x@example.com", "U+2024"},
	{"kate\uFF20example.com", "no '@'"},
	{"x@\U0001F4A9.la", "U+1F4A9"},
	{"x@xn--ls8h.la", "U+1F4A9"},
	{"kate\U000F0000@example.com", "invisible"},
}

func TestNormalize(t *testing.T) {
	for _, c := range validCases {
		got, err := Normalize(c.in)
		if err != nil || got != c.want {
			t.Errorf("Normalize(%+q) = %+q, %v; want %+q", c.in, got, err, c.want)
			continue
		}
		if again, err := Normalize(got); err != nil || again != got {
			t.Errorf("Normalize(%+q) = %+q, %v; a normal form must be its own", got, again, err)
		}
	}
}

func TestNormalizeRefuses(t *testing.T) {
	for _, c := range invalidCases {
		got, err := Normalize(c.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Normalize(%+q) = %+q, %v; want an *Error", c.in, got, err)
			continue
		}
		if got != "" || !strings.Contains(err.Error(), c.problem) {
			t.Errorf("Normalize(%+q) = %+q, %q; want an error about %q", c.in, got, err, c.problem)
		}
		if msg := err.Error(); !isPrintableASCII(msg) {
			t.Errorf("Normalize(%+q): message %+q is not printable ASCII", c.in, msg)
		}
	}
}

// invisibles are characters that do not show, or change how the text around them shows.
var invisibles = []rune{
	'\u0000', '\t', '\n', '\r', '\u007F', '\u0085', '\u00A0', '\u00AD', '\u034F', '\u061C', '\u115F', '\u1160',
	'\u17B4', '\u17B5', '\u180B', '\u180E', '\u180F', '\u2000', '\u200A', '\u200B', '\u200C', '\u200D', '\u200E', '\u200F',
	'\u2028', '\u2029', '\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u202F', '\u205F', '\u2060', '\u2061', '\u2062',
	'\u2063', '\u2064', '\u2066', '\u2067', '\u2068', '\u2069', '\u206A', '\u206F', '\u3000', '\u3164', '\uFE00', '\uFE0F',
	'\uFEFF', '\uFFA0', '\uFFF9', '\uFFFB', '\U0001D173', '\U0001D17A', '\U000E0001', '\U000E0020', '\U000E0061',
	'\U000E007F', '\U000E0100', '\U000E01EF', '\uE000', '\U000F0000', '\uFDD0', '\uFFFE',
}

// isDefaultIgnorable is Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt) from
// its definition, with white space and controls added: everything that must not appear.
func isDefaultIgnorable(r rune) bool {
	return unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector, unicode.Cf,
		unicode.White_Space, unicode.Cc, unicode.Co, unicode.Noncharacter_Code_Point, unicode.Zs, unicode.Zl, unicode.Zp)
}

func TestNormalizeRefusesInvisible(t *testing.T) {
	var all []rune
	all = append(all, invisibles...)
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if isDefaultIgnorable(r) && utf8.ValidRune(r) && r != ' ' {
			all = append(all, r)
		}
	}
	for _, r := range all {
		s := string(r)
		for _, in := range []string{
			s + "kate@example.com", "ka" + s + "te@example.com", "kate" + s + "@example.com", "kate@" + s + "example.com",
			"kate@exa" + s + "mple.com", "kate@example.com" + s, "катя" + s + "@example.com", "x@bü" + s + "cher.de",
		} {
			got, err := Normalize(in)
			if err == nil || !strings.Contains(err.Error(), "invisible") {
				t.Errorf("Normalize(%+q) = %+q, %v; want it refused as invisible", in, got, err)
			}
		}
		if got, err := NormalizeDomain("exa" + s + "mple.com"); err == nil {
			t.Errorf("NormalizeDomain(%+q) = %+q; want it refused", "exa"+s+"mple.com", got)
		}
	}
}

// TestNormalizeLookAlikes: an address carrying a character that Unicode case mapping or
// compatibility normalisation turns into ASCII letters, or that looks like them, is refused or
// has a normal form other than the ASCII address's: never the same.
func TestNormalizeLookAlikes(t *testing.T) {
	vs := mailaddrtest.Variants()
	if len(vs) < 4000 {
		t.Fatalf("only %d variants: the look-alike generator lost its sources", len(vs))
	}
	for _, v := range vs {
		want, err := Normalize(v.ASCII)
		if err != nil {
			t.Fatalf("%s: the ASCII address %q has no normal form: %v", v.Where, v.ASCII, err)
		}
		got, err := Normalize(v.Spoof)
		if err == nil && got == want {
			t.Errorf("%s: Normalize(%+q) = %+q, the normal form of %q (%U %s %q)", v.Where, v.Spoof, got, v.ASCII, v.Rune, v.Why, v.ASCII)
		}
		if err == nil && !containsRune(got, v.Rune) {
			t.Errorf("%s: Normalize(%+q) = %+q: %U was mapped", v.Where, v.Spoof, got, v.Rune)
		}
	}
	// In the local part, which is passed on as written, every case-mapping trap is refused
	// outright, not only kept apart. (A domain is passed on as its A-label; IDNA2008 keeps
	// "faß.de" and "fass.de" apart as the different domains they are.)
	for _, la := range mailaddrtest.LookAlikes() {
		if la.Why == "confusable" {
			continue
		}
		for _, in := range []string{"q" + string(la.Rune) + "z@example.com", string(la.Rune) + "@example.com"} {
			if got, err := Normalize(in); err == nil {
				t.Errorf("Normalize(%+q) = %+q; %U becomes %q by %s and must be refused", in, got, la.Rune, la.ASCII, la.Why)
			}
		}
	}
}

// containsRune reports whether addr holds r, in the local part as written or in the domain's
// U-label form.
func containsRune(addr string, r rune) bool {
	if strings.ContainsRune(addr, r) {
		return true
	}
	u, err := idna.Registration.ToUnicode(DomainOf(addr))
	return err == nil && strings.ContainsRune(u, r)
}

// TestNormalizeNeverMaps sweeps every code point: wherever it stands, the address is refused or
// its normal form holds that very code point (ASCII letters aside, which fold).
func TestNormalizeNeverMaps(t *testing.T) {
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		// Unassigned and private-use code points are refused wherever they stand.
		if !utf8.ValidRune(r) || !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S) {
			continue
		}
		s := string(r)
		for _, in := range []string{s + "@example.com", s + s + "@example.com", "a" + s + "@example.com", "x@" + s + ".test", "x@a" + s + ".test"} {
			got, err := Normalize(in)
			if err != nil {
				continue
			}
			if !containsRune(got, r) {
				t.Errorf("Normalize(%+q) = %+q: %U was mapped", in, got, r)
			}
			if local, _, _ := strings.Cut(in, "@"); !strings.HasPrefix(got, strings.Map(asciiLower, local)+"@") {
				t.Errorf("Normalize(%+q) = %+q: the local part changed beyond ASCII folding", in, got)
			}
		}
	}
}

// TestNormalFormsNeverDifferByCase: of the letters that strings.EqualFold takes for one another
// (a case orbit), a local part admits one at most, so two different normal forms never compare
// equal case-insensitively, in Gatehouse or in an origin that folds case.
func TestNormalFormsNeverDifferByCase(t *testing.T) {
	admitted := func(r rune) bool {
		_, err := Normalize(string(r) + string(r) + "@example.com")
		return err == nil
	}
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if !unicode.IsLetter(r) || !admitted(r) {
			continue
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if admitted(f) {
				t.Errorf("%U and %U are both admitted, and equal but for case", r, f)
			}
		}
		for _, m := range []string{strings.ToLower(string(r)), strings.ToUpper(string(r)), strings.ToTitle(string(r))} {
			if m != string(r) && func() bool { _, err := Normalize(m + m + "@example.com"); return err == nil }() {
				t.Errorf("%U and its case mapping %+q are both admitted", r, m)
			}
		}
	}
}

var domainCases = []struct{ in, want, problem string }{
	{"example.com", "example.com", ""},
	{"@example.com", "", "U+0040"},
	{"Example.COM", "example.com", ""},
	{"bücher.de", "xn--bcher-kva.de", ""},
	{"XN--BCHER-KVA.de", "xn--bcher-kva.de", ""},
	{"пример.рф", "xn--e1afmkfd.xn--p1ai", ""},
	{"", "", "empty"},
	{"\u017Fales.test", "", "U+017F"},
	{"\uFF53ales.test", "", "U+FF53"},
	{"s\u200Bales.test", "", "invisible"},
	{"s\u0430les.test", "", "Latin, Cyrillic"},
	{"sales.test.", "", "trailing"},
	{"*.sales.test", "", "U+002A"},
	{"[10.0.0.1]", "", "literal"},
	{"10.0.0.1", "", "all digits"},
}

func TestNormalizeDomain(t *testing.T) {
	for _, c := range domainCases {
		got, err := NormalizeDomain(c.in)
		switch {
		case c.problem == "" && (err != nil || got != c.want):
			t.Errorf("NormalizeDomain(%+q) = %+q, %v; want %q", c.in, got, err, c.want)
		case c.problem != "" && (err == nil || !strings.Contains(err.Error(), c.problem)):
			t.Errorf("NormalizeDomain(%+q) = %+q, %v; want an error about %q", c.in, got, err, c.problem)
		}
	}
}

func TestDomainOf(t *testing.T) {
	for in, want := range map[string]string{"a@example.com": "example.com", "example.com": "", "a@": ""} {
		if got := DomainOf(in); got != want {
			t.Errorf("DomainOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// FuzzNormalizeEmail checks the properties of the normal form on any input: a normal form is its
// own normal form, differs from the input only in ASCII letter case and the domain's A-label
// encoding, has an ASCII lower-case domain and no invisible character, fits RFC 5321's limits,
// and never holds a letter that Unicode case mapping or NFKC turns into ASCII.
func FuzzNormalizeEmail(f *testing.F) {
	for _, c := range validCases {
		f.Add(c.in)
	}
	for _, c := range invalidCases {
		f.Add(c.in)
	}
	for _, c := range domainCases {
		f.Add("x@" + c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Normalize(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || out != "" {
				t.Fatalf("Normalize(%+q) = %+q, %v: want \"\" and an *Error", in, out, err)
			}
			if !isPrintableASCII(err.Error()) {
				t.Fatalf("Normalize(%+q): message %+q is not printable ASCII", in, err.Error())
			}
			return
		}
		checkNormalForm(t, in, out)
	})
}

func checkNormalForm(t *testing.T, in, out string) {
	t.Helper()
	if again, err := Normalize(out); err != nil || again != out {
		t.Fatalf("Normalize(%+q) = %+q; Normalize of that = %+q, %v: not idempotent", in, out, again, err)
	}
	if strings.Count(out, "@") != 1 || len(out) > MaxLength {
		t.Fatalf("Normalize(%+q) = %+q: not one '@' or too long", in, out)
	}
	local, domain, _ := strings.Cut(out, "@")
	inLocal, inDomain, _ := strings.Cut(in, "@")
	if len(local) > MaxLocalLength || local != strings.Map(asciiLower, inLocal) {
		t.Fatalf("Normalize(%+q) = %+q: the local part is not the input's with A-Z folded", in, out)
	}
	for i := 0; i < len(domain); i++ {
		if c := domain[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			t.Fatalf("Normalize(%+q) = %+q: the domain is not ASCII lower case", in, out)
		}
	}
	if nd, err := NormalizeDomain(inDomain); err != nil || nd != domain {
		t.Fatalf("Normalize(%+q) = %+q but NormalizeDomain(%+q) = %+q, %v", in, out, inDomain, nd, err)
	}
	for _, r := range out {
		if isDefaultIgnorable(r) {
			t.Fatalf("Normalize(%+q) = %+q holds the invisible %U", in, out, r)
		}
		if r < utf8.RuneSelf {
			continue
		}
		if a, ok := caseMapsToASCII(r); ok {
			t.Fatalf("Normalize(%+q) = %+q holds %U, which case-maps to %q", in, out, r, a)
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if caseRepresentative(f) == f && strings.ContainsRune(local, r) {
				t.Fatalf("Normalize(%+q) = %+q holds %U, but %U is the admitted member of its case orbit", in, out, r, f)
			}
		}
	}
}

func asciiLower(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// FuzzNormalizeDomain checks NormalizeDomain alone: its output is lower-case ASCII, its own
// normal form, and the domain of an address made with it.
func FuzzNormalizeDomain(f *testing.F) {
	for _, c := range domainCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeDomain(in)
		if err != nil {
			return
		}
		if again, err := NormalizeDomain(out); err != nil || again != out {
			t.Fatalf("NormalizeDomain(%+q) = %+q; again: %+q, %v", in, out, again, err)
		}
		if addr, err := Normalize("x@" + in); err != nil || addr != "x@"+out {
			t.Fatalf("NormalizeDomain(%+q) = %+q but Normalize(x@…) = %+q, %v", in, out, addr, err)
		}
		if !isPrintableASCII(out) || strings.ToLower(out) != out {
			t.Fatalf("NormalizeDomain(%+q) = %+q: not lower-case ASCII", in, out)
		}
	})
}
