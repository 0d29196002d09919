package applib

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/catalogue.golden")

// TestCatalogueGolden makes every change to the shipped data a visible diff of
// testdata/catalogue.golden (regenerate with go test -run TestCatalogueGolden -update).
func TestCatalogueGolden(t *testing.T) {
	c := mustDefault(t)
	var buf bytes.Buffer
	if err := c.WriteSummary(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "catalogue.golden")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		gl, wl := bytes.Split(buf.Bytes(), []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w []byte
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if !bytes.Equal(g, w) {
				t.Fatalf("catalogue differs from %s at line %d:\n got: %s\nwant: %s\n(run with -update if the change is intended)", path, i+1, g, w)
			}
		}
	}
}
