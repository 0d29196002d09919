package dlp

import (
	"bytes"
	"fmt"
	"math/bits"
)

// maxJoinGap is the most bytes of syntax (`","key":"`, `&key=`) between
// two values that are taken as adjacent.
const maxJoinGap = 64

// joinedValues is a view of adjacent string values laid end to end, and
// the offsets in it where one value meets the next.
type joinedValues struct {
	v      *view
	bounds []int
}

// joinValues returns views of v's adjacent values joined, so a secret
// split across JSON strings ({"a":"ghp_…","b":"…"}, ["ghp_…","…"],
// "ghp_…" + "…") or form fields (a=ghp_…&b=…) reads whole: views of
// double-quoted strings that are not object keys, and views of the values
// of key=value&key=value runs (deriveViews asks for each kind at the first
// unescaping level that has it). Values are adjacent when at most
// maxJoinGap bytes separate them; they are joined unless one is empty or
// they meet with white space.
func joinValues(v *view) []joinedValues {
	var out []joinedValues
	for _, ps := range jsonStringValues(v.text, false, nil) {
		out = append(out, joinPieces(v, ps)...)
	}
	return append(out, joinPieces(v, formValues(v.text))...)
}

// piece is the content of one value, [start, end) in its view.
type piece struct{ start, end int }

// maxJoinPieces is the most adjacent values one secret is looked for in.
const maxJoinPieces = 4

// joinPieces lays out blocks of adjacent pieces. A match made of pieces i…j
// must see them joined and its neighbours i-1 and j+1 apart (a token is
// only a token between word boundaries), so for every block length L of 2
// to maxJoinPieces and every offset o < L there is one view: in each group
// of adjacent pieces, blocks of L pieces starting o pieces in, separated
// by line breaks. Views with the same blocks as an earlier one are left
// out. Pieces are taken whole: a base64 value split in two decodes only
// from all of it.
func joinPieces(v *view, ps []piece) []joinedValues {
	type span struct{ i, j int } // pieces i…j inclusive
	var groups []span
	for i := 0; i < len(ps); {
		j := i
		for j+1 < len(ps) && joinable(v.text, ps[j], ps[j+1]) {
			j++
		}
		if j > i {
			groups = append(groups, span{i, j})
		}
		i = j + 1
	}
	if groups == nil {
		return nil
	}
	var out []joinedValues
	seen := map[string]bool{}
	for l := 2; l <= maxJoinPieces; l++ {
		for o := 0; o < l; o++ {
			var blocks []span
			for _, g := range groups {
				for s := g.i; s <= g.j; {
					e := s + l - 1
					if s == g.i && o > 0 {
						e = s + o - 1
					}
					e = min(e, g.j)
					if e > s {
						blocks = append(blocks, span{s, e})
					}
					s = e + 1
				}
			}
			key := fmt.Sprint(blocks)
			if len(blocks) == 0 || seen[key] {
				continue
			}
			seen[key] = true
			var text []byte
			var m []int32
			var bounds []int
			last := 0
			for _, b := range blocks {
				if len(text) > 0 {
					text = append(text, '\n')
					m = append(m, int32(ps[b.i].start))
				}
				for k := b.i; k <= b.j; k++ {
					p := ps[k]
					if k > b.i {
						bounds = append(bounds, len(text))
					}
					for x := p.start; x < p.end; x++ {
						text = append(text, v.text[x])
						m = append(m, int32(x))
					}
					last = p.end
				}
			}
			m = append(m, int32(last))
			out = append(out, joinedValues{v: &view{text: text, toParent: m, parent: v}, bounds: bounds})
		}
	}
	return out
}

// joinable reports whether a secret may continue from piece a into the
// next piece b: they are adjacent and neither is empty or meets the
// other with white space (a value that ends or starts with a space is
// text, not half of a token).
func joinable(t []byte, a, b piece) bool {
	return b.start-a.end <= maxJoinGap && a.end > a.start && b.end > b.start &&
		!isSpaceByte(t[a.end-1]) && !isSpaceByte(t[b.start])
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// jsonStringValues returns the contents of the double-quoted strings of t
// that are not object keys (not followed by ':'), strings inside strings
// included: a quote escaped by 2^k−1 backslashes delimits a string nested
// k levels deep ({"body":"{\"a\":\"…\"}"}), quotes pair up with the
// next quote of their own depth, and the strings of each depth are
// returned apart (only strings of one depth are adjacent values). A string
// ends at a line break unless multiline: raw JSON strings cannot hold one,
// but an unescaped view may (percent-encoded line breaks inside strings).
// delimiter, when set, says which quotes may delimit strings.
func jsonStringValues(t []byte, multiline bool, delimiter func(i int) bool) [][]piece {
	if bytes.IndexByte(t, '"') < 0 {
		return nil
	}
	const maxDepth = 4
	var open [maxDepth]int // start of the open string at each depth, or -1
	for d := range open {
		open[d] = -1
	}
	out := make([][]piece, maxDepth)
	for i := 0; i < len(t); {
		q := bytes.IndexByte(t[i:], '"')
		if q < 0 {
			break
		}
		q += i
		if !multiline && bytes.IndexByte(t[i:q], '\n') >= 0 {
			// A line break closes nothing: strings open before it are dropped.
			for d := range open {
				open[d] = -1
			}
		}
		i = q + 1
		if delimiter != nil && !delimiter(q) {
			continue
		}
		b := 0
		for q-b > 0 && t[q-b-1] == '\\' {
			b++
		}
		// A quote nested d deep is escaped by 2^d−1 backslashes, and the string's own
		// backslashes before it come in runs of 2^(d+1) (each level doubles them): the depth is
		// the number of trailing one bits of the count.
		d := bits.TrailingZeros(^uint(b))
		if d >= maxDepth {
			continue
		}
		if open[d] < 0 {
			open[d] = q + 1
			continue
		}
		// Only the 2^d−1 backslashes right before the quote escape it; any before them are the
		// string's own: a value ending in an escaped backslash keeps it, so a value split inside
		// an escape sequence joins back into that escape.
		s, e := open[d], q-(1<<d-1)
		open[d] = -1
		k := q + 1
		for k < len(t) && (t[k] == ' ' || t[k] == '\t' || t[k] == '\r' || t[k] == '\n') {
			k++
		}
		if k >= len(t) || t[k] != ':' {
			out[d] = append(out[d], piece{s, e})
		}
	}
	return out
}

// maxSeparatedPiece bounds each side of a value read around its separators.
const maxSeparatedPiece = 512

// maxSeparators bounds the separators one view is split at.
const maxSeparators = 256

// separatedValues returns the values of t between `","`-shaped separators (a quote, optional
// white space, a comma, optional white space, a quote; both quotes delimiters by delim): for
// text whose quotes cannot be paired because some were content, the values next to a
// separator are what the separator divides. The first and last pieces reach at most
// maxSeparatedPiece bytes beyond the outer separators.
func separatedValues(t []byte, delim func(int) bool) []piece {
	type sep struct{ start, end int }
	var seps []sep
	for i := 0; i < len(t) && len(seps) < maxSeparators; {
		q := bytes.IndexByte(t[i:], '"')
		if q < 0 {
			break
		}
		q += i
		i = q + 1
		if delim != nil && !delim(q) {
			continue
		}
		k := q + 1
		for k < len(t) && isSpaceByte(t[k]) {
			k++
		}
		if k >= len(t) || t[k] != ',' {
			continue
		}
		k++
		for k < len(t) && isSpaceByte(t[k]) {
			k++
		}
		if k >= len(t) || t[k] != '"' || (delim != nil && !delim(k)) {
			continue
		}
		seps = append(seps, sep{q, k + 1})
		i = k
	}
	if len(seps) == 0 {
		return nil
	}
	var ps []piece
	start := max(0, seps[0].start-maxSeparatedPiece)
	for _, sp := range seps {
		ps = append(ps, piece{start, sp.start})
		start = sp.end
	}
	ps = append(ps, piece{start, min(len(t), start+maxSeparatedPiece)})
	return ps
}

// isFormByte reports bytes that may occur in a key=value field of a form
// or query string: anything but white space, controls, quotes and angle
// brackets ('&' separates fields).
func isFormByte(c byte) bool {
	return c > ' ' && c != 0x7f && c != '"' && c != '\'' && c != '<' && c != '>' && c != '`'
}

// formValues returns the values of runs of two or more key=value fields
// joined by '&' (form bodies, query strings).
func formValues(t []byte) []piece {
	if bytes.IndexByte(t, '&') < 0 {
		return nil
	}
	var out []piece
	for i := 0; i < len(t); {
		a := bytes.IndexByte(t[i:], '&')
		if a < 0 {
			break
		}
		a += i
		ls := a
		for ls > i && isFormByte(t[ls-1]) && t[ls-1] != '&' {
			ls--
		}
		eq := bytes.IndexByte(t[ls:a], '=')
		if eq <= 0 {
			i = a + 1
			continue
		}
		run := []piece{{ls + eq + 1, a}}
		pos := a
		for pos < len(t) && t[pos] == '&' {
			fs := pos + 1
			fe := fs
			for fe < len(t) && isFormByte(t[fe]) && t[fe] != '&' {
				fe++
			}
			eq := bytes.IndexByte(t[fs:fe], '=')
			if eq <= 0 {
				break
			}
			run = append(run, piece{fs + eq + 1, fe})
			pos = fe
		}
		if len(run) >= 2 {
			out = append(out, run...)
		}
		i = max(pos, a+1)
	}
	return out
}
