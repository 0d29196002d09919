package devices

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/store"
)

// FuzzCleanName: an accepted name is trimmed, bounded, valid UTF-8 without control characters,
// and cleaning it again changes nothing.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"Work laptop", "  x  ", "", "a\nb", "\xff", strings.Repeat("é", 60)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := CleanName(in)
		if err != nil {
			return
		}
		if out == "" || len(out) > store.MaxGatewayDeviceNameLen || !utf8.ValidString(out) ||
			strings.ContainsFunc(out, unicode.IsControl) || out != strings.TrimSpace(out) {
			t.Fatalf("CleanName(%q) = %q", in, out)
		}
		if again, err := CleanName(out); err != nil || again != out {
			t.Fatalf("CleanName not idempotent on %q: %q, %v", out, again, err)
		}
	})
}

// BenchmarkVerifyDevice measures one device check against SQLite: the device row read on
// every call, the user from the cache.
func BenchmarkVerifyDevice(b *testing.B) {
	f := newFixtureTB(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if id, reason, err := f.v.VerifyDevice(b.Context(), f.cred.Username, f.cred.Password); err != nil || id == nil {
			b.Fatalf("VerifyDevice: %v %q", err, reason)
		}
	}
}
