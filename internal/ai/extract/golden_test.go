package extract

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// goldenCase is one fixture: testdata/<adapter id>/<name>.http, a captured request (name starts
// with "request" or the file holds an HTTP request) or response, pinned by <name>.golden.
type goldenCase struct {
	adapter string
	name    string
	path    string
}

func goldenCases(t testing.TB) []goldenCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.http"))
	if err != nil {
		t.Fatal(err)
	}
	var out []goldenCase
	for _, f := range files {
		out = append(out, goldenCase{
			adapter: filepath.Base(filepath.Dir(f)),
			name:    strings.TrimSuffix(filepath.Base(f), ".http"),
			path:    f,
		})
	}
	return out
}

// runGolden extracts a fixture the way `gatehouse ai extract` does.
func runGolden(t testing.TB, tab *Table, gc goldenCase, raw []byte) any {
	a := tab.Adapter(gc.adapter)
	if a == nil {
		t.Fatalf("%s: no adapter %q", gc.path, gc.adapter)
	}
	c, err := ParseCapture(raw, 0)
	if err != nil {
		t.Fatalf("%s: %v", gc.path, err)
	}
	switch {
	case c.IsRequest:
		m, ok := tab.Match(c.Method, c.Host, c.Path)
		if !ok || m.Adapter != a {
			got := "nothing"
			if ok {
				got = m.Adapter.ID
			}
			t.Errorf("%s: %s %s%s matched %s, want %s", gc.path, c.Method, c.Host, c.Path, got, a.ID)
		}
		return a.ExtractRequest(c.HTTPRequest(), m.Captures, Limits{})
	case strings.HasPrefix(gc.name, "request"):
		return a.ExtractRequest(HTTPRequest{Method: a.Method, Body: c.Body}, nil, Limits{})
	default:
		return a.ExtractResponse(c.ContentType, c.Body, Limits{})
	}
}

// TestGolden pins every adapter with its fixtures. Run with -update to rewrite the .golden files
// after a deliberate change, and review the diff.
func TestGolden(t *testing.T) {
	tab := MustDefault()
	cases := goldenCases(t)
	covered := map[string]bool{}
	for _, gc := range cases {
		t.Run(gc.adapter+"/"+gc.name, func(t *testing.T) {
			raw, err := os.ReadFile(gc.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(runGolden(t, tab, gc, raw), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(gc.path, ".http") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s changed:\n--- got\n%s\n--- want\n%s", gc.path, got, want)
			}
		})
		covered[gc.adapter] = true
	}
	for _, a := range tab.Adapters() {
		if !covered[a.ID] {
			t.Errorf("adapter %s has no golden fixture under testdata/%s", a.ID, a.ID)
		}
	}
}
