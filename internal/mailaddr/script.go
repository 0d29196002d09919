package mailaddr

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// allowedMixes are the combinations of scripts that UTS #39's "highly restrictive" level allows
// besides a single script: Latin with the scripts written together in Japanese, Chinese and
// Korean text. Every other mixture (Latin with Cyrillic or Greek above all) is the stuff of
// look-alikes.
var allowedMixes = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// scripts are unicode.Scripts without Common and Inherited, the commonest in addresses first so
// that the lookup of a letter usually ends early.
var scripts = func() []script {
	first := []string{"Latin", "Cyrillic", "Greek", "Han", "Hiragana", "Katakana", "Hangul", "Arabic", "Hebrew", "Devanagari", "Thai"}
	rest := make([]string, 0, len(unicode.Scripts))
	for name := range unicode.Scripts {
		if !slices.Contains(first, name) && name != "Common" && name != "Inherited" {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	var out []script
	for _, name := range append(first, rest...) {
		out = append(out, script{name, unicode.Scripts[name]})
	}
	return out
}()

type script struct {
	name  string
	table *unicode.RangeTable
}

// scriptOf returns the script of a letter or digit, or "" for the Common and Inherited scripts
// (ASCII digits, marks) and unassigned code points.
func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return "Latin"
		}
		return ""
	}
	for _, s := range scripts {
		if unicode.Is(s.table, r) {
			return s.name
		}
	}
	return ""
}

// scriptProblem returns a problem when the letters and digits of s mix scripts beyond
// allowedMixes, or "".
func scriptProblem(s string) string {
	var seen []string
	for _, r := range s {
		if name := scriptOf(r); name != "" && !slices.Contains(seen, name) {
			seen = append(seen, name)
		}
	}
	if len(seen) <= 1 {
		return ""
	}
	for _, mix := range allowedMixes {
		if !slices.ContainsFunc(seen, func(name string) bool { return !slices.Contains(mix, name) }) {
			return ""
		}
	}
	return fmt.Sprintf("mixes the %s scripts", strings.Join(seen, ", "))
}
