package yamlpos

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// brokenCases are invalid YAML with the position a reader must be sent to: the offending
// character, or for an unclosed construct the character that opens it. FuzzLocate uses them as
// seeds.
var brokenCases = []struct {
	name       string
	in         string
	line, col  int
	msgContain string
}{
	{"tab as indentation", "a: 1\nb:\n\tc: 2\n", 3, 1, "cannot start any token"},
	{"tab after spaces", "a:\n  b: 1\n  \tc: 2\n", 3, 3, "tab character that violates indentation"},
	{"unclosed double quote", "a: 1\nb: \"unclosed\nc: 3\n", 2, 4, "unexpected end of stream"},
	{"unclosed single quote", "a: 1\nb: 'x\n", 2, 4, "unexpected end of stream"},
	{"unclosed quote after multi-byte characters", "é: \"ü\tx\nbad: [\n", 1, 4, "unexpected end of stream"},
	// yaml.v3 says line 2 (the enclosing mapping's); the key that is out of line is on line 3.
	{"bad indentation", "a:\n  b: 1\n c: 2\n", 3, 2, "did not find expected key"},
	{"mapping values not allowed", "a: 1\nb: c: d\n", 2, 5, "mapping values are not allowed"},
	{"mapping value under a scalar", "a: 1\n  b: 2\n", 2, 4, "mapping values are not allowed"},
	// yaml.v3 says line 1.
	{"key inside a list", "list:\n  - a\n  b: 1\n", 3, 4, "did not find expected '-' indicator"},
	{"mapping after a top-level list", "- a\nb: 1\n", 2, 2, "did not find expected '-' indicator"},
	{"unknown alias", "a: 1\nx: *nope\n", 2, 4, "unknown anchor 'nope'"},
	{"unclosed flow sequence", "a: [1, 2\nb: 3\n", 1, 8, "did not find expected ',' or ']'"},
	{"unclosed flow mapping", "a: {b: 1\n", 1, 8, "did not find expected ',' or '}'"},
	{"reserved indicator", "key: @value\n", 1, 6, "cannot start any token"},
	{"control character", "a: 1\nb: \x01\n", 2, 4, "control characters are not allowed"},
	{"error in the second document", "a: b\n---\nc: d: e\n", 3, 5, "mapping values are not allowed"},
	{"no final newline", "a: 1\nb: c: d", 2, 5, "mapping values are not allowed"},
}

func TestBrokenYAML(t *testing.T) {
	for _, tc := range brokenCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			if pe.Line != tc.line || pe.Column != tc.col {
				t.Errorf("position %d:%d, want %d:%d (%v)", pe.Line, pe.Column, tc.line, tc.col, pe)
			}
			if !strings.Contains(pe.Msg, tc.msgContain) || strings.Contains(pe.Msg, "line ") {
				t.Errorf("message %q, want one containing %q and no line prefix", pe.Msg, tc.msgContain)
			}
		})
	}
}

func TestValidYAML(t *testing.T) {
	for _, in := range []string{"", "a: 1\n", "a: &x [1]\nb: *x\n", "a: 1\n---\nb: 2\n", "- é\n- \"ü\"\n"} {
		if _, err := Parse([]byte(in)); err != nil {
			t.Errorf("Parse(%q): %v", in, err)
		}
	}
}

func TestDuplicates(t *testing.T) {
	for _, tc := range []struct {
		in        string
		line, col int
	}{
		{"a: 1\nb: 2\na: 3\n", 3, 1},
		{"outer:\n  x: 1\n  y: 2\n  x: 3\n", 4, 3},
		{"l: [{k: 1, k: 2}]\n", 1, 12},
		{"a: 1\n'a': 2\n", 2, 1},
	} {
		docs, err := Parse([]byte(tc.in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		var pe *Error
		if err := Duplicates(docs[0]); !errors.As(err, &pe) {
			t.Errorf("Duplicates(%q) = %v, want *Error", tc.in, err)
			continue
		}
		if pe.Line != tc.line || pe.Column != tc.col || !strings.Contains(pe.Msg, "already defined") {
			t.Errorf("Duplicates(%q) = %v, want %d:%d", tc.in, pe, tc.line, tc.col)
		}
	}
	for _, in := range []string{"a: 1\nb: 2\n", "a: {x: 1}\nb: {x: 1}\n", "1: a\n'1': b\n", "base: &b {x: 1}\nc:\n  <<: *b\n  <<: *b\n"} {
		docs, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if err := Duplicates(docs[0]); err != nil {
			t.Errorf("Duplicates(%q) = %v, want nil", in, err)
		}
	}
}

// FuzzLocate: Parse never panics, and every syntax error has a position inside the input.
func FuzzLocate(f *testing.F) {
	for _, tc := range brokenCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 {
			return
		}
		docs, err := Parse(in)
		if err == nil {
			for _, d := range docs {
				_ = Duplicates(d)
			}
			return
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Fatalf("error %v (%T), want *Error", err, err)
		}
		lines := bytes.SplitAfter(in, []byte("\n"))
		if len(lines) > 1 && len(lines[len(lines)-1]) == 0 {
			lines = lines[:len(lines)-1]
		}
		if pe.Line < 1 || pe.Line > len(lines) {
			t.Fatalf("line %d outside 1..%d: %v", pe.Line, len(lines), pe)
		}
		text := bytes.TrimSuffix(lines[pe.Line-1], []byte("\n"))
		if pe.Column < 1 || pe.Column > utf8.RuneCount(text)+1 {
			t.Fatalf("column %d outside 1..%d on line %q: %v", pe.Column, utf8.RuneCount(text)+1, text, pe)
		}
	})
}

// TestLargeInputKeepsALine: past maxSearch the position is yaml.v3's line, still in the input.
func TestLargeInputKeepsALine(t *testing.T) {
	big := strings.Repeat("k: v\n", maxSearch/5+10) + "a: b: c\n"
	_, err := Parse([]byte(big))
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v", err)
	}
	if lines := strings.Count(big, "\n"); pe.Line != lines || pe.Column != 1 {
		t.Errorf("position %d:%d, want %d:1", pe.Line, pe.Column, lines)
	}
}
