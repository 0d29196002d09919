package dlp

import (
	"io"
	"regexp"
	"regexp/syntax"
	"unicode/utf8"
)

// endRegexp is a regular expression of the form boundary + body + `\z`, where boundary is
// `(?:^|[^\p{L}\p{N}_])`: the postal address grammars that read a street line backwards from a
// postcode. FindSubmatchIndex returns exactly what the regexp's own FindSubmatchIndex returns,
// without its cost. An unanchored search for a match that must end at \z tries every start in
// the window with the whole grammar (about 90 µs for 240 bytes of prose in the US and German
// grammars, most of the time of a prompt dense with addresses). Read backwards from the end, the
// grammar is anchored: the reversed expression, matched leftmost-longest over the window's runes
// from the last one, dies within a few words of prose and, when it matches, ends at the
// leftmost start of a match. The expression anchored at that start then gives the captures, so
// the priorities between alternatives that decide them are the regexp's own.
type endRegexp struct {
	re *regexp.Regexp // the expression as written
	// rev is the reversed expression (no captures), anchored at the window's end.
	rev *regexp.Regexp
	// atStart matches the expression anchored at the window's first byte; atBoundary matches it
	// anchored at a boundary rune that is not the first (where ^ cannot match).
	atStart, atBoundary *regexp.Regexp
}

// endBoundary is the required start of an endRegexp.
const endBoundary = `(?:^|[^\p{L}\p{N}_])`

// newEndRegexp compiles endBoundary + body + `\z`.
func newEndRegexp(body string) *endRegexp {
	expr := endBoundary + body + `\z`
	e := &endRegexp{
		re:         regexp.MustCompile(expr),
		atStart:    regexp.MustCompile(`\A(?:` + expr + `)`),
		atBoundary: regexp.MustCompile(`\A[^\p{L}\p{N}_](?:` + body + `)\z`),
	}
	parsed, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		panic("dlp: " + err.Error())
	}
	e.rev = regexp.MustCompile(reverseRegexp(parsed).String())
	e.rev.Longest()
	return e
}

// String returns the expression as written.
func (e *endRegexp) String() string { return e.re.String() }

// FindSubmatchIndex is regexp.FindSubmatchIndex of the expression on b.
func (e *endRegexp) FindSubmatchIndex(b []byte) []int {
	m, ok := e.fromEnd(b)
	if !ok {
		// Cannot happen while the reversal is right; the expression itself decides.
		return e.re.FindSubmatchIndex(b)
	}
	return m
}

// fromEnd finds the match reading from the end; ok is false when the start it found does not
// begin a match.
func (e *endRegexp) fromEnd(b []byte) (m []int, ok bool) {
	r := backwardRunes{b: b, i: len(b)}
	if !utf8.Valid(b) {
		r.starts = runeStarts(b)
	}
	loc := e.rev.FindReaderIndex(&r)
	if loc == nil {
		return nil, true
	}
	s := len(b) - loc[1]
	if s == 0 {
		m = e.atStart.FindSubmatchIndex(b)
	} else {
		m = e.atBoundary.FindSubmatchIndex(b[s:])
	}
	for k := range m {
		if m[k] >= 0 {
			m[k] += s
		}
	}
	return m, m != nil
}

// backwardRunes reads the runes of b from the last to the first, as the regexp package
// decodes them forwards: an invalid byte is U+FFFD of width 1. When b is valid UTF-8,
// utf8.DecodeLastRune splits it as a forward reading does; otherwise starts holds the offsets
// of the forward reading's runes.
type backwardRunes struct {
	b      []byte
	i      int   // runes before i are unread
	starts []int // rune offsets of an invalid b, in order
}

func (r *backwardRunes) ReadRune() (rune, int, error) {
	if r.i == 0 {
		return 0, 0, io.EOF
	}
	if r.starts == nil {
		c, n := utf8.DecodeLastRune(r.b[:r.i])
		r.i -= n
		return c, n, nil
	}
	s := r.starts[len(r.starts)-1]
	r.starts = r.starts[:len(r.starts)-1]
	c, n := utf8.DecodeRune(r.b[s:r.i])
	if n != r.i-s {
		c = utf8.RuneError
	}
	n, r.i = r.i-s, s
	return c, n, nil
}

// runeStarts returns the offsets where the runes of b start, reading forwards.
func runeStarts(b []byte) []int {
	out := make([]int, 0, len(b))
	for i := 0; i < len(b); {
		out = append(out, i)
		_, n := utf8.DecodeRune(b[i:])
		i += n
	}
	return out
}

// reverseRegexp returns an expression matching the reverse of each string re matches, without
// captures: concatenations and literals are reversed, and the anchors at either end swap.
// Word boundaries read the same both ways.
func reverseRegexp(re *syntax.Regexp) *syntax.Regexp {
	if re.Op == syntax.OpCapture {
		return reverseRegexp(re.Sub[0])
	}
	r := *re
	r.Sub = nil
	for _, s := range re.Sub {
		r.Sub = append(r.Sub, reverseRegexp(s))
	}
	switch re.Op {
	case syntax.OpConcat:
		for i, j := 0, len(r.Sub)-1; i < j; i, j = i+1, j-1 {
			r.Sub[i], r.Sub[j] = r.Sub[j], r.Sub[i]
		}
	case syntax.OpLiteral:
		r.Rune = make([]rune, len(re.Rune))
		for i, c := range re.Rune {
			r.Rune[len(re.Rune)-1-i] = c
		}
	case syntax.OpBeginText:
		r.Op = syntax.OpEndText
		r.Flags &^= syntax.WasDollar
	case syntax.OpEndText:
		r.Op = syntax.OpBeginText
	case syntax.OpBeginLine:
		r.Op = syntax.OpEndLine
	case syntax.OpEndLine:
		r.Op = syntax.OpBeginLine
	}
	return &r
}
