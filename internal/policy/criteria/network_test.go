package criteria

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

func TestIPSet(t *testing.T) {
	var prefixes []netip.Prefix
	for _, s := range []string{
		"10.0.0.0/8", "10.1.0.0/16", // nested
		"192.168.1.0/24", "192.168.2.0/24", // adjacent, merged
		"203.0.113.7",
		"255.255.255.255/32", "255.255.255.254/32", // top of the space
		"2001:db8::/32", "2001:db9::/32",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
		"fe80::/64",
	} {
		p, err := ParsePrefix(s)
		if err != nil {
			t.Fatal(err)
		}
		prefixes = append(prefixes, p)
	}
	s := NewIPSet(prefixes)
	if got := s.Len(); got != 7 {
		t.Errorf("Len = %d, want 7 merged ranges", got)
	}
	for addr, want := range map[string]bool{
		"10.0.0.0":         true,
		"10.255.255.255":   true,
		"11.0.0.0":         false,
		"9.255.255.255":    false,
		"192.168.1.0":      true,
		"192.168.2.255":    true,
		"192.168.3.0":      false,
		"203.0.113.7":      true,
		"203.0.113.8":      false,
		"255.255.255.255":  true,
		"255.255.255.253":  false,
		"::ffff:10.2.3.4":  true,
		"2001:db8::1":      true,
		"2001:db9:ffff::1": true,
		"2001:dba::":       false,
		"fe80::1":          true,
		"fe80:0:0:1::1":    false,
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": true,
		"::":      false,
		"::1":     false,
		"0.0.0.0": false,
	} {
		if got := s.Contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", addr, got, want)
		}
	}
	if (*IPSet)(nil).Contains(netip.MustParseAddr("10.0.0.1")) {
		t.Error("nil set contains an address")
	}
	if s.Contains(netip.Addr{}) {
		t.Error("set contains the zero address")
	}
}

// FuzzIPSet checks IPSet.Contains against a linear scan of the prefixes it was built from.
func FuzzIPSet(f *testing.F) {
	f.Add([]byte{10, 0, 0, 0, 8, 192, 168, 1, 0, 24}, []byte{10, 1, 2, 3}, false)
	f.Add([]byte{0x20, 0x01, 0x0d, 0xb8, 32}, []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, true)
	f.Add([]byte{255, 255, 255, 255, 32, 0, 0, 0, 0, 0}, []byte{255, 255, 255, 255}, false)
	f.Fuzz(func(t *testing.T, spec, addr []byte, v6 bool) {
		var prefixes []netip.Prefix
		if v6 {
			// 4-byte high word of the address, 1 byte of prefix length, per prefix.
			for len(spec) >= 5 {
				var b [16]byte
				copy(b[:4], spec[:4])
				binary.BigEndian.PutUint32(b[12:], binary.BigEndian.Uint32(spec[:4])) // vary the low word too
				p, err := netip.AddrFrom16(b).Prefix(int(spec[4]) % 129)
				if err == nil {
					prefixes = append(prefixes, p)
				}
				spec = spec[5:]
			}
		} else {
			for len(spec) >= 5 {
				p, err := netip.AddrFrom4([4]byte(spec[:4])).Prefix(int(spec[4]) % 33)
				if err == nil {
					prefixes = append(prefixes, p)
				}
				spec = spec[5:]
			}
		}
		var a netip.Addr
		switch {
		case len(addr) >= 16 && v6:
			a = netip.AddrFrom16([16]byte(addr[:16]))
		case len(addr) >= 4:
			a = netip.AddrFrom4([4]byte(addr[:4]))
		default:
			return
		}
		want := false
		for _, p := range prefixes {
			if p.Contains(a.Unmap()) {
				want = true
			}
		}
		if got := NewIPSet(prefixes).Contains(a); got != want {
			t.Fatalf("Contains(%s) = %v, linear scan of %v says %v", a, got, prefixes, want)
		}
	})
}

// FuzzParsePrefix checks that accepted values are canonical: parsing the result again gives
// the same prefix, and a single address matches itself.
func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "10.1.2.3/8", "192.0.2.1", "2001:db8::/32", "::ffff:192.0.2.0/120", "fe80::1%eth0", "1.2.3.4/33", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePrefix(s)
		if err != nil {
			return
		}
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() && p.Bits() >= 96 {
			t.Fatalf("ParsePrefix(%q) = %v: not canonical", s, p)
		}
		again, err := ParsePrefix(p.String())
		if err != nil || again != p {
			t.Fatalf("ParsePrefix(%q) = %v, reparsed as %v, %v", s, p, again, err)
		}
	})
}
