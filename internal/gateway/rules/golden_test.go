package rules

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// goldenLists name the lists the example expressions use.
var goldenLists = Lists{"01302951-49f9-47c9-a400-0297e60b6a10": {"example.com"}}

// TestGolden compiles the documented example expressions; the golden file records each one's
// canonical form, phase and fields, or its error, so a change in the language shows in review.
func TestGolden(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "expressions.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fmt.Fprintf(&out, "in:     %s\n", line)
		x, err := CompileExpr(line, goldenLists)
		if err != nil {
			fmt.Fprintf(&out, "error:  %v\n\n", err)
			continue
		}
		// The canonical form compiles to the same thing.
		y, err := CompileExpr(x.String(), goldenLists)
		if err != nil || y.String() != x.String() || y.needs != x.needs {
			t.Errorf("%s: canonical form %s does not round-trip: %v", line, x.String(), err)
		}
		ns := NeedSet{fields: x.needs}
		fmt.Fprintf(&out, "out:    %s\nphase:  %s\nfields: %s\n\n", x.String(), x.Phase(), strings.Join(ns.Fields(), " "))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "expressions.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update)", err)
	}
	if out.String() != string(want) {
		t.Errorf("golden mismatch; run go test -run TestGolden -update and review the diff\ngot:\n%s", out.String())
	}
}
