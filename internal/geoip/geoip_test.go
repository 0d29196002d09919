package geoip

import (
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// writeDB builds a .mmdb in a temporary directory from network → record.
func writeDB(t testing.TB, ipVersion int, records map[string]mmdbtype.Map) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "Gatehouse-Test-Country",
		IPVersion:               ipVersion,
		RecordSize:              24,
		IncludeReservedNetworks: true, // the tests use documentation ranges
	})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range records {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Insert(network, rec); err != nil {
			t.Fatalf("insert %s: %v", cidr, err)
		}
	}
	path := filepath.Join(t.TempDir(), "test.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func maxmindRecord(iso string) mmdbtype.Map {
	return mmdbtype.Map{
		"continent": mmdbtype.Map{"code": mmdbtype.String("EU")},
		"country": mmdbtype.Map{
			"geoname_id": mmdbtype.Uint32(2264397),
			"iso_code":   mmdbtype.String(iso),
			"names":      mmdbtype.Map{"en": mmdbtype.String("Portugal"), "de": mmdbtype.String("Portugal")},
		},
		"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("ES")},
	}
}

func open(t testing.TB, path string) *DB {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestCountry(t *testing.T) {
	maxmind := writeDB(t, 6, map[string]mmdbtype.Map{
		"192.0.2.0/24":     maxmindRecord("PT"),
		"198.51.100.0/24":  maxmindRecord("us"),
		"2001:db8::/32":    maxmindRecord("DE"),
		"203.0.113.0/25":   {"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("FR")}},
		"203.0.113.128/25": {"country": mmdbtype.Map{"iso_code": mmdbtype.String("EU1")}},
	})
	flat4 := writeDB(t, 4, map[string]mmdbtype.Map{
		"192.0.2.0/24":    {"country_code": mmdbtype.String("JP")},
		"198.51.100.0/24": {"country_code": mmdbtype.String("br")},
		"203.0.113.0/24":  {"country_code": mmdbtype.Uint32(7)}, // wrong type
	})
	flat6 := writeDB(t, 6, map[string]mmdbtype.Map{
		"2001:db8::/32": {"country_code": mmdbtype.String("NZ")},
	})
	tests := []struct {
		db   string
		addr string
		want string
	}{
		{maxmind, "192.0.2.1", "PT"},
		{maxmind, "192.0.2.255", "PT"},
		{maxmind, "::ffff:192.0.2.1", "PT"},
		{maxmind, "198.51.100.9", "US"},
		{maxmind, "2001:db8::1", "DE"},
		{maxmind, "2001:db9::1", ""},
		{maxmind, "10.0.0.1", ""},
		{maxmind, "203.0.113.1", ""},   // registered_country only: not where the client is
		{maxmind, "203.0.113.200", ""}, // not a two-letter code
		{flat4, "192.0.2.1", "JP"},
		{flat4, "::ffff:192.0.2.1", "JP"},
		{flat4, "198.51.100.1", "BR"},
		{flat4, "203.0.113.1", ""},
		{flat4, "2001:db8::1", ""}, // IPv6 in an IPv4-only database
		{flat6, "2001:db8:1::1", "NZ"},
		{flat6, "192.0.2.1", ""},
	}
	dbs := map[string]*DB{}
	for _, tt := range tests {
		if dbs[tt.db] == nil {
			dbs[tt.db] = open(t, tt.db)
		}
		db := dbs[tt.db]
		// Twice: the second lookup is served from the record cache.
		for range 2 {
			if got := db.Country(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("%s: Country(%s) = %q, want %q", filepath.Base(filepath.Dir(tt.db)), tt.addr, got, tt.want)
			}
		}
	}
	if got := dbs[maxmind].Country(netip.Addr{}); got != "" {
		t.Errorf("Country(zero) = %q", got)
	}
}

func TestNilAndClosed(t *testing.T) {
	var db *DB
	if got := db.Country(netip.MustParseAddr("192.0.2.1")); got != "" {
		t.Errorf("nil DB: %q", got)
	}
	if err := db.Close(); err != nil {
		t.Errorf("nil DB Close: %v", err)
	}
	db, err := Open(writeDB(t, 6, map[string]mmdbtype.Map{"192.0.2.0/24": maxmindRecord("PT")}))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := db.Country(netip.MustParseAddr("192.0.2.1")); got != "" {
		t.Errorf("closed DB: %q", got)
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing.mmdb"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	garbage := filepath.Join(t.TempDir(), "garbage.mmdb")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(garbage); err == nil || !strings.HasPrefix(err.Error(), "geoip: open ") {
		t.Errorf("garbage file: %v", err)
	}
}

func TestConcurrentLookupsAndClose(t *testing.T) {
	db, err := Open(writeDB(t, 6, map[string]mmdbtype.Map{
		"192.0.2.0/24":    maxmindRecord("PT"),
		"198.51.100.0/24": maxmindRecord("US"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			addr := netip.MustParseAddr("192.0.2.1")
			if i%2 == 1 {
				addr = netip.MustParseAddr("198.51.100.1")
			}
			for range 1000 {
				if got := db.Country(addr); got != "PT" && got != "US" && got != "" {
					t.Errorf("Country = %q", got)
					return
				}
			}
		})
	}
	wg.Go(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
}

func TestCountryDoesNotAllocateWhenCached(t *testing.T) {
	db := open(t, writeDB(t, 6, map[string]mmdbtype.Map{"192.0.2.0/24": maxmindRecord("PT")}))
	addr := netip.MustParseAddr("192.0.2.1")
	db.Country(addr)
	if n := testing.AllocsPerRun(100, func() { db.Country(addr) }); n != 0 {
		t.Errorf("%v allocations per cached lookup", n)
	}
}

func BenchmarkCountry(b *testing.B) {
	db := open(b, writeDB(b, 6, map[string]mmdbtype.Map{
		"192.0.2.0/24":    maxmindRecord("PT"),
		"198.51.100.0/24": maxmindRecord("US"),
	}))
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.1")}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		db.Country(addrs[i&1])
		i++
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"PT", "us", "Us", "", "EU1", "1A", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := normalize(s)
		if got == "" {
			return
		}
		if len(got) != 2 || got != strings.ToUpper(s) || strings.ToUpper(got) != got {
			t.Fatalf("normalize(%q) = %q", s, got)
		}
	})
}
