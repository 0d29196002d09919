// Package geoip maps client IP addresses to ISO 3166-1 alpha-2 country codes using a MaxMind
// DB (.mmdb) file, for the geo policy selector and the JWT `country` claim.
//
// It reads MaxMind's layout (GeoIP2/GeoLite2 Country and City: country.iso_code) and the flat
// layout of the ip-location-db databases, e.g. geo-whois-asn-country (a top-level
// country_code string). Those are published as separate IPv4 and IPv6 files; an IPv4-only
// database answers "" for IPv6 clients.
package geoip

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/oschwald/maxminddb-golang/v2"
)

// maxCached bounds the per-record cache. Country databases have a few hundred distinct
// records; city databases have many more, and past the bound lookups just decode.
const maxCached = 4096

// DB is an open GeoIP database. It is safe for concurrent use; Close waits for lookups in
// progress. A nil *DB knows no countries.
type DB struct {
	mu sync.RWMutex // guards r against Close: the file is memory-mapped
	r  *maxminddb.Reader
	// cache maps record offsets to country codes; copied on write, read without locks.
	cache   atomic.Pointer[map[uintptr]string]
	cacheMu sync.Mutex
}

// record is the union of the supported layouts.
type record struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	CountryCode string `maxminddb:"country_code"`
}

// Open opens the .mmdb file at path.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip: open %s: %w", path, err)
	}
	db := &DB{r: r}
	empty := map[uintptr]string{}
	db.cache.Store(&empty)
	return db, nil
}

// Close releases the database. Lookups after Close return "".
func (db *DB) Close() error {
	if db == nil {
		return nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.r == nil {
		return nil
	}
	err := db.r.Close()
	db.r = nil
	if err != nil {
		return fmt.Errorf("geoip: close: %w", err)
	}
	return nil
}

// Country returns the upper-case ISO 3166-1 alpha-2 code of addr's country, or "" when the
// database does not know it (or on any database error: the geo selector then matches nothing).
// 4-in-6 mapped addresses are looked up as IPv4.
func (db *DB) Country(addr netip.Addr) string {
	if db == nil || !addr.IsValid() {
		return ""
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.r == nil {
		return ""
	}
	res := db.r.Lookup(addr.Unmap())
	if !res.Found() {
		return ""
	}
	off := res.Offset()
	if cc, ok := (*db.cache.Load())[off]; ok {
		return cc
	}
	var rec record
	if err := res.Decode(&rec); err != nil {
		return ""
	}
	cc := rec.Country.ISOCode
	if cc == "" {
		cc = rec.CountryCode
	}
	cc = normalize(cc)
	db.remember(off, cc)
	return cc
}

func (db *DB) remember(off uintptr, cc string) {
	db.cacheMu.Lock()
	defer db.cacheMu.Unlock()
	old := *db.cache.Load()
	if _, ok := old[off]; ok || len(old) >= maxCached {
		return
	}
	m := make(map[uintptr]string, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[off] = cc
	db.cache.Store(&m)
}

// normalize upper-cases a two-letter code and rejects anything else. It returns strings from
// a static table, so it never allocates.
func normalize(s string) string {
	if len(s) != 2 {
		return ""
	}
	var b [2]byte
	for i := range 2 {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case 'A' <= c && c <= 'Z':
		default:
			return ""
		}
		b[i] = c
	}
	return codes[int(b[0]-'A')*26+int(b[1]-'A')]
}

// codes holds every two-letter upper-case string, so normalize never allocates.
var codes = func() (t [26 * 26]string) {
	for i := range t {
		t[i] = string([]byte{byte('A' + i/26), byte('A' + i%26)})
	}
	return t
}()
