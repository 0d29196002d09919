package dlp

import (
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
)

// endRegexps are the grammars matched from the end, by name.
func endRegexps() map[string]*endRegexp {
	m := map[string]*endRegexp{"us": usBeforeState, "uk": ukBefore}
	for cc, e := range euBefore {
		m[cc] = e
	}
	return m
}

// checkEndRegexp fails when e and its own regexp disagree on b.
func checkEndRegexp(t *testing.T, name string, e *endRegexp, b []byte) {
	t.Helper()
	got, ok := e.fromEnd(b)
	if want := e.re.FindSubmatchIndex(b); !ok || !slices.Equal(got, want) {
		t.Fatalf("%s on %q: %v (ok %v), the regexp gives %v", name, b, got, ok, want)
	}
}

// addressTokens are words, numbers and separators of the address grammars, and bytes that are
// not UTF-8, for texts that come close to addresses in many ways.
var addressTokens = []string{"Main", "St", "Street", "Ave", "Hauptstraße", "Musterstr.", "weg", "Platz", "rue", "de", "la", "Paix", "Calle",
	"Mayor", "Via", "Roma", "Damrak", "Keizersgracht", "Berlin", "Paris", "London", "New", "York", "CA", "NY", "TX", "DC", "SW1A", "NW1",
	"GIR", "Suite", "Apt", "Floor", "Fifth", "#12", "N", "W", "upon", "Tyne", "am", "Cedex", "(FI)", "D-", "CH-", "1600", "94043", "10115",
	"75002", "1012", "221B", "12", "5", "3º", "B", "bis", "ſtraße", "K", "ß", "É", "Ünter", "O'Neil", "St.", "Saint-Denis", "Flat", "3",
	"MA", "02110-1301", "\xff", "\xe2\x82", "\x82", "é", "–", "-", "/", "_", "Pkwy", "Ꮪtreet", "ǅ"}

var addressSeps = []string{" ", " ", " ", ", ", "\n", ",\n", " - ", "  ", "\t", ". ", "\r\n", ""}

func randomAddressText(r *rand.Rand, words int) []byte {
	var b strings.Builder
	for j := 0; j < words; j++ {
		b.WriteString(addressTokens[r.IntN(len(addressTokens))])
		b.WriteString(addressSeps[r.IntN(len(addressSeps))])
	}
	return []byte(b.String())
}

// TestEndRegexpAgrees checks the grammars matched from the end against the regular expressions
// they stand for: every suffix of generated addresses and look-alikes, and windows of random
// address words, separators and broken UTF-8 (the reverse reading must split runes as the
// regexp package does).
func TestEndRegexpAgrees(t *testing.T) {
	res := endRegexps()
	g := newGen(3)
	for i := 0; i < 300; i++ {
		text := []byte(g.prose(3) + g.pick(" ", "\n", ", ") + g.address())
		if i%3 == 0 {
			text = []byte(g.prose(3) + " " + g.addressNegative())
		}
		for end := 0; end <= len(text); end++ {
			for name, e := range res {
				checkEndRegexp(t, name, e, text[max(0, end-addrLookBack):end])
			}
		}
	}
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 3000; i++ {
		text := randomAddressText(r, 1+r.IntN(40))
		cut := min(len(text), r.IntN(4)) // a window may start inside a rune
		for name, e := range res {
			checkEndRegexp(t, name, e, text[cut:])
		}
	}
}

// TestReverseRegexp checks the reversal on expressions with the constructs the grammars use.
func TestReverseRegexp(t *testing.T) {
	for _, tc := range []struct{ re, in string }{
		{`ab+c`, "xabbbc"}, {`(?i:straße)`, "HAUPTSTRASSE hauptstraße"}, {`\d{1,3}(?:st|nd)`, "the 21st"},
		{`^foo|bar\z`, "foo bar"}, {`\bword\b`, "a word here"}, {`[^\p{L}](\p{Lu}\p{L}*)\z`, "x Berlin"},
		{`(?:^|[^\p{L}\p{N}_])a?b\z`, "ab"}, {`x(?: ?[a-z]\b)?\z`, "x q"},
	} {
		parsed, err := syntax.Parse(tc.re, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		rev := regexp.MustCompile(reverseRegexp(parsed).String())
		fwd := regexp.MustCompile(tc.re)
		// Every substring of the input: the forward expression matches it whole exactly when the
		// reversed one matches it reversed whole.
		in := []rune(tc.in)
		for i := 0; i <= len(in); i++ {
			for j := i; j <= len(in); j++ {
				s := string(in[i:j])
				rs := []rune(s)
				slices.Reverse(rs)
				whole := func(re *regexp.Regexp, s string) bool {
					loc := regexp.MustCompile(`\A(?:` + re.String() + `)\z`).FindStringIndex(s)
					return loc != nil
				}
				if whole(fwd, s) != whole(rev, string(rs)) {
					t.Fatalf("%s reversed as %s: they disagree on %q", tc.re, rev, s)
				}
			}
		}
	}
}

// TestEndRegexpReadsTheAddressOnly: reading back from a postcode costs the words of the
// address, not the whole look-back (an unanchored search tries every start of the window).
// Counted in runes read by the reversed expression, so the test does not depend on timing:
// before prose the reading stops within a few words (the French grammar allows seven words
// of street name), and before an address a little past its
// start.
func TestEndRegexpReadsTheAddressOnly(t *testing.T) {
	g := newGen(5)
	for name, e := range endRegexps() {
		for i := 0; i < 50; i++ {
			w := []byte(g.prose(60))[:addrLookBack]
			if n, loc := readBack(e, w); n > 96 {
				t.Errorf("%s: read %d runes of prose back to %v: %q", name, n, loc, w)
			}
		}
	}
	for _, tc := range []struct{ name, text string }{
		{"us", "Please ship the pallets from our old depot at 1600 Amphitheatre Parkway, Mountain View, "},
		{"uk", "Please ship the pallets from our old depot at 221B Baker Street, London "},
		{"de", "Please ship the pallets from our old depot at Hauptstraße 5, "},
		{"fr", "Please ship the pallets from our old depot at 12 rue de la Paix, "},
		{"nl", "Please ship the pallets from our old depot at Damrak 1, "},
	} {
		w := []byte(tc.text)
		n, loc := readBack(endRegexps()[tc.name], w)
		at := strings.Index(tc.text, " at ") + 3
		if loc == nil || len(w)-loc[1] != at || n > len(w)-at+16 {
			t.Errorf("%s: read %d runes back to %v (the address starts after byte %d of %d)", tc.name, n, loc, at, len(w))
		}
	}
}

// readBack matches e's reversed expression on w and returns the runes it read and its match.
func readBack(e *endRegexp, w []byte) (int, []int) {
	r := countingRunes{backwardRunes: backwardRunes{b: w, i: len(w)}}
	loc := e.rev.FindReaderIndex(&r)
	return r.n, loc
}

type countingRunes struct {
	backwardRunes
	n int
}

func (c *countingRunes) ReadRune() (rune, int, error) {
	c.n++
	return c.backwardRunes.ReadRune()
}

func FuzzEndRegexp(f *testing.F) {
	for _, s := range []string{"1600 Amphitheatre Parkway, Mountain View, CA ", "Hauptstraße 5, ", "\xffMain St\n", "12 rue de la Paix, ",
		"Damrak 1, ", "221B Baker Street, London "} {
		f.Add(s)
	}
	res := endRegexps()
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 2*addrLookBack {
			return
		}
		for name, e := range res {
			checkEndRegexp(t, name, e, []byte(s))
		}
	})
}
