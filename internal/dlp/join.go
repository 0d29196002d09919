package dlp

import (
	"bytes"
	"fmt"
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
// of key=value&key=value runs. Values are adjacent when at most maxJoinGap
// bytes separate them.
func joinValues(v *view) []joinedValues {
	out := joinPieces(v, jsonStringValues(v.text))
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
// out. A block's first piece contributes only its last maxTokenLen bytes
// and its last piece its first maxTokenLen: a match longer than that cannot
// cross into them.
func joinPieces(v *view, ps []piece) []joinedValues {
	type span struct{ i, j int } // pieces i…j inclusive
	var groups []span
	for i := 0; i < len(ps); {
		j := i
		for j+1 < len(ps) && ps[j+1].start-ps[j].end <= maxJoinGap {
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
					if k == b.i {
						p.start = max(p.start, p.end-maxTokenLen)
					} else {
						bounds = append(bounds, len(text))
					}
					if k == b.j {
						p.end = min(p.end, p.start+maxTokenLen)
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

// jsonStringValues returns the contents of the double-quoted strings of t
// (on one line, backslash escapes skipped) that are not followed by ':'.
func jsonStringValues(t []byte) []piece {
	if bytes.Count(t, []byte{'"'}) < 4 {
		return nil
	}
	var out []piece
	for i := 0; i < len(t); {
		q := bytes.IndexByte(t[i:], '"')
		if q < 0 {
			break
		}
		q += i
		j := q + 1
		for j < len(t) && t[j] != '"' && t[j] != '\n' {
			if t[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(t) {
			break
		}
		if t[j] == '\n' {
			i = j + 1
			continue
		}
		k := j + 1
		for k < len(t) && (t[k] == ' ' || t[k] == '\t' || t[k] == '\r' || t[k] == '\n') {
			k++
		}
		if k >= len(t) || t[k] != ':' {
			out = append(out, piece{q + 1, j})
		}
		i = j + 1
	}
	return out
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
