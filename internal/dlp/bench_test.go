package dlp

import (
	"bytes"
	"context"
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
