package ca

import (
	"errors"
	"strings"
	"testing"
)

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"example.com", "Example.COM.", "192.0.2.1", "::1", "::ffff:1.2.3.4", "fe80::1%eth0",
		"*.example.com", "a..b", "1.2.3", "_dmarc.example", "xn--bcher-kva.example", "", ".", "[::1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		canon, ip, err := NormalizeName(name)
		if err != nil {
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("error %v does not wrap ErrInvalidName", err)
			}
			return
		}
		again, ip2, err := NormalizeName(canon)
		if err != nil || again != canon || ip2 != ip {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", name, canon, again, err)
		}
		if ip.IsValid() {
			if ip.String() != canon || ip.Zone() != "" || ip.Is4In6() {
				t.Fatalf("%q: address %v, canonical %q", name, ip, canon)
			}
			return
		}
		if canon == "" || len(canon) > maxNameLen || canon != strings.ToLower(canon) || strings.HasSuffix(canon, ".") {
			t.Fatalf("%q: canonical %q", name, canon)
		}
		for _, c := range canon {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				t.Fatalf("%q: canonical %q has %q", name, canon, c)
			}
		}
	})
}

func FuzzParseValidity(f *testing.F) {
	for _, s := range []string{"5y", "43800h", "1825d", "52w", "0y", "-1y", "1e9y", "9223372036854775807d", "5h30m", "y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseValidity(s)
		if err == nil && (d < MinValidity || d > MaxValidity) {
			t.Fatalf("ParseValidity(%q) = %s, outside the bounds", s, d)
		}
	})
}
