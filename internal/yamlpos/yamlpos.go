// Package yamlpos parses YAML with gopkg.in/yaml.v3 and, on a syntax error, says where the
// error is: line and column, 1-based, of the character at which the input stops being valid
// YAML. yaml.v3 reports a line only, and for errors of its parser (as opposed to its scanner) the
// line is often that of the enclosing mapping or the line before, not the offending one.
//
// The position is found by parsing prefixes of the input: the error is at the first line whose
// inclusion makes the prefix fail with the same message, and within that line at the first
// character that does. yaml.v3 reads its input strictly left to right, so a prefix fails with the
// same message exactly when it reaches the offending character (an unclosed quote or bracket
// fails where it opens, since the rest of the input cannot close it). This costs a dozen or two
// parses of the input before the error, and only when the input is invalid.
package yamlpos

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Error is a YAML syntax error with its position.
type Error struct {
	// Line and Column are 1-based; Column counts characters (runes), as editors do.
	Line, Column int
	// Msg is yaml.v3's message without its "yaml: line N:" prefix, e.g. "found character that
	// cannot start any token".
	Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Parse parses every YAML document in data into nodes. A syntax error is an *Error.
func Parse(data []byte) ([]*yaml.Node, error) {
	docs, err := parseAll(data)
	if err != nil {
		return nil, Locate(data, err)
	}
	return docs, nil
}

// maxDocs bounds the documents parseAll reads (each costs at least a "---" line).
const maxDocs = 1 << 16

func parseAll(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for len(docs) < maxDocs {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, err
		}
		docs = append(docs, &n)
	}
	return docs, nil
}

var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// message splits a yaml.v3 error into its reported line (0 when none) and its message.
func message(err error) (int, string) {
	s := err.Error()
	if m := lineRE.FindStringSubmatch(s); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, s[len(m[0]):]
	}
	return 0, strings.TrimPrefix(s, "yaml: ")
}

// maxSearch bounds the input whose error position is searched for (a few dozen parses of up to
// this much); beyond it the position is yaml.v3's line.
const maxSearch = 1 << 20

// Locate turns err, the error yaml.v3 returned for parsing the documents of data, into an *Error
// whose position lies within data. It returns err unchanged when err is nil.
func Locate(data []byte, err error) error {
	if err == nil {
		return nil
	}
	var located *Error
	if errors.As(err, &located) {
		return err
	}
	reported, msg := message(err)
	fails := func(prefix []byte) bool {
		_, perr := parseAll(prefix)
		if perr == nil {
			return false
		}
		_, pmsg := message(perr)
		return pmsg == msg
	}

	// Line starts: lines[i] is the offset of line i+1; the input has len(lines) lines.
	lines := []int{0}
	for i, c := range data {
		if c == '\n' && i+1 < len(data) {
			lines = append(lines, i+1)
		}
	}
	lineEnd := func(l int) int { // offset after line l (1-based), its newline included
		if l < len(lines) {
			return lines[l]
		}
		return len(data)
	}

	if len(data) > maxSearch || !fails(data) {
		// Too large to search quickly, or not an error of these bytes (it came from elsewhere):
		// keep yaml.v3's line.
		return &Error{Line: clamp(reported, 1, len(lines)), Column: 1, Msg: msg}
	}
	// The smallest number of whole lines whose prefix fails: lo lines pass, hi lines fail. The
	// offending line is at or after the one yaml.v3 reports (which is the enclosing construct's,
	// or the line before, for errors of its parser): search upwards from there in growing steps,
	// then halve the last step, so that a large input costs a few parses of the part before the
	// error.
	lo, hi := 0, len(lines)
	if r := reported - 1; r > 0 && r < hi && !fails(data[:lineEnd(r)]) {
		lo = r
	}
	for step := 1; lo+step < hi; step *= 2 {
		if fails(data[:lineEnd(lo+step)]) {
			hi = lo + step
			break
		}
		lo += step
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fails(data[:lineEnd(mid)]) {
			hi = mid
		} else {
			lo = mid
		}
	}
	start := lines[hi-1]
	text := data[start:lineEnd(hi)]
	// The smallest number of characters of that line whose prefix fails; all of them (with the
	// newline) do.
	offsets := []int{} // offsets[k] is the byte length of the line's first k characters
	for i := 0; i < len(text); {
		offsets = append(offsets, i)
		_, size := utf8.DecodeRune(text[i:])
		i += size
	}
	offsets = append(offsets, len(text))
	clo, chi := 0, len(offsets)-1
	for chi-clo > 1 {
		mid := (clo + chi) / 2
		if fails(data[:start+offsets[mid]]) {
			chi = mid
		} else {
			clo = mid
		}
	}
	col := chi // the chi-th character is the first that makes the prefix fail
	col = tokenStart(text, offsets, col)
	return &Error{Line: hi, Column: col, Msg: msg}
}

// tokenStart moves col (1-based) back to the start of the name it ends, so that an unknown alias
// "*name" is reported at its "*" rather than at its last letter.
func tokenStart(text []byte, offsets []int, col int) int {
	isName := func(k int) bool { // character k, 1-based
		if k < 1 || k >= len(offsets) {
			return false
		}
		c := text[offsets[k-1]]
		return c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
	}
	if !isName(col) {
		return col
	}
	for isName(col - 1) {
		col--
	}
	if col > 1 {
		if c := text[offsets[col-2]]; c == '*' || c == '&' || c == '!' {
			col--
		}
	}
	return col
}

func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}

// Duplicates returns an *Error at the second occurrence of the first mapping key that repeats
// within one mapping of n (YAML forbids them; yaml.v3 reports them only when decoding into Go
// values, and then with a line only). Merge keys ("<<") and keys that are not scalars are not
// compared.
func Duplicates(n *yaml.Node) error {
	var first *Error
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n == nil || first != nil || depth > 10000 {
			return
		}
		if n.Kind == yaml.MappingNode {
			seen := map[string]*yaml.Node{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
					continue
				}
				id := k.ShortTag() + "\x00" + k.Value
				if prev, ok := seen[id]; ok {
					first = &Error{Line: k.Line, Column: k.Column,
						Msg: fmt.Sprintf("mapping key %q already defined at line %d", k.Value, prev.Line)}
					return
				}
				seen[id] = k
			}
		}
		for _, c := range n.Content { // aliases are not followed: their targets are walked where defined
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	if first == nil {
		return nil
	}
	return first
}
