package dlp

import (
	"strings"
	"testing"
)

// An escaped value longer than the scan window (each level of \u escapes multiplies it by six)
// is read whole by a larger window; one longer than MaxRunBytes makes the verdict incomplete,
// never clean.
func TestEscapesLongerThanTheWindow(t *testing.T) {
	var doc, entry string
	for _, d := range secretsCorpus(99, 1) {
		if d.Kind == "github_fine_grained" {
			doc, entry = d.Text, "github_token"
			break
		}
	}
	if doc == "" {
		t.Fatal("no GitHub token in the secrets corpus")
	}
	escaped := doc
	for range 3 {
		escaped = `{"v":"` + jsonEscapeAll(escaped) + `"}`
	}
	if len(escaped) < 8<<10 {
		t.Fatalf("the escaped document is only %d bytes", len(escaped))
	}
	padded := strings.Repeat("lorem ipsum dolor sit amet. ", 200) + escaped + strings.Repeat(" consectetur adipiscing.", 200)

	small := NewEngine(Options{ChunkSize: 4 << 10})
	v := scanAll(t, small, []byte(padded), Hints{})
	if _, ok := hasEntry(v, entry); !ok {
		t.Errorf("a token behind three levels of escapes (%d bytes) was not found with 4 KiB windows: %+v", len(escaped), v)
	}

	tight := NewEngine(Options{ChunkSize: 4 << 10, MaxRunBytes: 8 << 10})
	if v := scanAll(t, tight, []byte(padded), Hints{}); !v.Incomplete {
		if _, ok := hasEntry(v, entry); !ok {
			t.Errorf("an escaped value longer than MaxRunBytes gave a clean, complete verdict")
		}
	}
}

func TestTrailingEscapeRun(t *testing.T) {
	esc := strings.Repeat(`\u0041`, 60)
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"prose " + esc, 6, true},
		{"prose " + strings.Repeat("%41", 100), 6, true},
		{"prose " + esc + " end", 0, false},                   // the run ends inside the window
		{"prose " + strings.Repeat("deadbeef", 40), 0, false}, // hex without escapes: findRuns' business
		{"prose " + strings.Repeat(`\u0041`, 10), 0, false},   // short: the overlap holds it
	} {
		got, ok := trailingEscapeRun([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%.30q…: %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
