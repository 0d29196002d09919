package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fieldTable renders the field reference table of docs/gateway-rules.md.
func fieldTable() string {
	var b strings.Builder
	b.WriteString("| Field | Type | Phase | Needs decryption | Cloudflare | Meaning |\n|---|---|---|---|---|---|\n")
	for _, f := range Fields() {
		dec, cf := "no", "yes"
		if f.Decrypt() {
			dec = "yes"
		}
		if !f.Cloudflare {
			cf = "Gatehouse extension"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s | %s |\n", f.Name, f.Type, f.Phase, dec, cf, strings.ReplaceAll(f.Doc, "|", `\|`))
	}
	return b.String()
}

// TestDocsFieldTable keeps the reference's field table in step with the schema; with -update it
// rewrites the table between its markers.
func TestDocsFieldTable(t *testing.T) {
	path := filepath.Join("..", "..", "..", "docs", "gateway-rules.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- fields:begin -->\n", "<!-- fields:end -->"
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %q … %q markers", path, begin, end)
	}
	want := fieldTable()
	if got := s[i+len(begin) : j]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(s[:i+len(begin)]+want+s[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the field table in %s is stale; run go test -run TestDocsFieldTable -update", path)
	}
}
