package dlp

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// Benchmarks scan 8 MiB of generated content with every predefined entry;
// MB/s is per core (one goroutine).
func benchScan(b *testing.B, kind string) {
	data := benchData(kind)
	e := NewEngine(Options{})
	p, _ := PredefinedProfile("all")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Scan(context.Background(), bytes.NewReader(data), p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanProse(b *testing.B)    { benchScan(b, "prose") }
func BenchmarkScanCode(b *testing.B)     { benchScan(b, "code") }
func BenchmarkScanDensePII(b *testing.B) { benchScan(b, "pii") }

var benchCache = map[string][]byte{}

func benchData(kind string) []byte {
	if d, ok := benchCache[kind]; ok {
		return d
	}
	d := denseText(42, kind, 8<<20)
	benchCache[kind] = d
	return d
}

var (
	benchInputsDir = flag.String("dir", "", "TestWriteBenchInputs: directory to write prose.txt, code.txt and pii.txt into")
	benchInputsMiB = flag.Int("size-mib", 8, "TestWriteBenchInputs: size of each input in MiB")
)

// TestWriteBenchInputs writes the benchmark inputs for bench/dlp.sh:
// go test ./internal/dlp -run TestWriteBenchInputs -args -dir DIR [-size-mib N]
func TestWriteBenchInputs(t *testing.T) {
	if *benchInputsDir == "" {
		t.Skip("no -dir")
	}
	for _, kind := range []string{"prose", "code", "pii"} {
		if err := os.WriteFile(filepath.Join(*benchInputsDir, kind+".txt"), denseText(42, kind, *benchInputsMiB<<20), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
