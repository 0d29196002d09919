package devices

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

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

// BenchmarkVerifyDevice measures one device check against SQLite: "cached" as the gateway
// runs it between revocations, "uncached" reading the device and its user on every check.
func BenchmarkVerifyDevice(b *testing.B) { benchmarkVerify(b, newFixtureTB(b)) }

// BenchmarkVerifyDevicePostgres is BenchmarkVerifyDevice on PostgreSQL
// (GATEHOUSE_TEST_POSTGRES_DSN).
func BenchmarkVerifyDevicePostgres(b *testing.B) {
	benchmarkVerify(b, newFixtureOn(b, "postgres", postgresSchema(b)))
}

// postgresSchema returns a DSN for a fresh schema of GATEHOUSE_TEST_POSTGRES_DSN, dropped at
// the end (package testenv cannot be imported here: it imports app, which imports this package).
func postgresSchema(b *testing.B) string {
	base := os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN")
	if base == "" {
		b.Skip("set GATEHOUSE_TEST_POSTGRES_DSN to benchmark on PostgreSQL")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	schema := fmt.Sprintf("gh_devbench_%d", time.Now().UnixNano())
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if db, err := sql.Open("pgx", base); err == nil {
			_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
			_ = db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func benchmarkVerify(b *testing.B, f *fixture) {
	b.Run("cached", func(b *testing.B) { loopVerify(b, f) })
	b.Run("uncached", func(b *testing.B) {
		v, err := NewVerifier(f.st, VerifierOptions{Now: f.clk.Now, DeviceTTL: -1, UserTTL: -1})
		if err != nil {
			b.Fatal(err)
		}
		loopVerify(b, &fixture{st: f.st, clk: f.clk, v: v, user: f.user, cred: f.cred, devID: f.devID})
	})
}

func loopVerify(b *testing.B, f *fixture) {
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if id, reason, err := f.v.VerifyDevice(b.Context(), f.cred.Username, f.cred.Password); err != nil || id == nil {
			b.Fatalf("VerifyDevice: %v %q", err, reason)
		}
	}
}
