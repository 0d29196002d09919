package intent

import (
	"strings"
	"testing"
)

// BenchmarkIntent2KiB classifies a 2 KiB chat prompt for the three intent
// topics (the DLP content topics are measured in internal/ai).
func BenchmarkIntent2KiB(b *testing.B) {
	base := "Hi! Could you help me rewrite the following customer email so it sounds friendlier? " +
		"We shipped the order last Tuesday and the tracking shows it arrived at their office. " +
		"The customer says the package was empty, and wants a refund. Please keep it short and polite, " +
		"mention our 30-day return window, and suggest they contact support if anything else is missing. "
	p := strings.Repeat(base, 2048/len(base)+1)[:2048]
	c := New()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		c.Classify(p, "")
	}
}
