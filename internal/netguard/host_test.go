package netguard

import (
	"net/netip"
	"testing"
)

func TestCanonicalHost(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM":         "example.com",
		"example.com.":        "example.com",
		"a_b.example":         "a_b.example",
		"[::1]":               "::1",
		"::1":                 "::1",
		"[0:0:0:0:0:0:0:1]":   "::1",
		"[::ffff:127.0.0.1]":  "127.0.0.1",
		"[::FFFF:7f00:1]":     "127.0.0.1",
		"127.0.0.1":           "127.0.0.1",
		"127.0.0.1.":          "127.0.0.1",
		"2130706433":          "127.0.0.1",
		"0x7f000001":          "127.0.0.1",
		"0X7F.0.0.1":          "127.0.0.1",
		"0177.0.0.1":          "127.0.0.1",
		"127.1":               "127.0.0.1",
		"127.0.1":             "127.0.0.1",
		"0":                   "0.0.0.0",
		"0x":                  "0.0.0.0",
		"169.254.43518":       "169.254.169.254",
		"0251.0376.0251.0376": "169.254.169.254",
		"123.example.com":     "123.example.com",
		"example.0x1g":        "example.0x1g",
	} {
		got, err := CanonicalHost(in)
		if err != nil || got != want {
			t.Errorf("CanonicalHost(%q) = %q, %v; want %q", in, got, err, want)
			continue
		}
		if again, err := CanonicalHost(got); err != nil || again != got {
			t.Errorf("CanonicalHost(%q) = %q, %v; not idempotent", got, again, err)
		}
	}
	for _, in := range []string{
		"", ".", "..", "a..b", "example.com..", "[::1", "[127.0.0.1]", "[fe80::1%25eth0]", "fe80::1%eth0",
		"exa mple.com", "exämple.com", "a/b", "a@b", "1.2.3.4.5", "256.0.0.1", "1.2.3.256.", "08.0.0.1",
		"0x100000000", "4294967296", "example.123", "1.2.65536", string(make([]byte, 300)),
	} {
		if got, err := CanonicalHost(in); err == nil {
			t.Errorf("CanonicalHost(%q) = %q, want an error", in, got)
		}
	}
}

func TestClassify(t *testing.T) {
	for addr, want := range map[string]Class{
		"8.8.8.8": ClassPublic, "2606:4700::1111": ClassPublic, "2002:0808:0808::": ClassPublic,
		"127.0.0.1": ClassLoopback, "127.255.0.1": ClassLoopback, "::1": ClassLoopback, "::ffff:127.0.0.1": ClassLoopback,
		"::127.0.0.1": ClassLoopback, "64:ff9b::7f00:1": ClassLoopback, "2002:7f00:1::": ClassLoopback,
		"10.1.2.3": ClassPrivate, "172.16.0.1": ClassPrivate, "192.168.1.1": ClassPrivate, "100.64.0.1": ClassPrivate,
		"fd12::1": ClassPrivate, "64:ff9b:1::1": ClassPrivate,
		"169.254.1.1": ClassLinkLocal, "fe80::1": ClassLinkLocal,
		"169.254.169.254": ClassMetadata, "fd00:ec2::254": ClassMetadata, "::ffff:169.254.169.254": ClassMetadata,
		"100.100.100.200": ClassMetadata,
		"0.0.0.0":         ClassUnspecified, "0.1.2.3": ClassUnspecified, "::": ClassUnspecified,
		"224.0.0.1": ClassMulticast, "ff02::1": ClassMulticast,
		"255.255.255.255": ClassReserved, "240.0.0.1": ClassReserved,
		"192.0.2.1": ClassSpecial, "2001:db8::1": ClassSpecial, "2001::1": ClassSpecial,
	} {
		if got := Classify(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Classify(%s) = %s, want %s", addr, got, want)
		}
	}
}

// isIPLiteralSeeds are names, addresses and near-misses for IsIPLiteral.
var isIPLiteralSeeds = []string{"", "example.com", "cafe.be", "127.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "::1",
	"2001:db8::1", "::ffff:127.0.0.1", "fe80::1%eth0", "1.2.3.4:80", "[::1]", "256.1.1.1", "...", "1..2.3"}

// TestIsIPLiteral: IsIPLiteral's shortcut for names answers as netip.ParseAddr does.
func TestIsIPLiteral(t *testing.T) {
	for _, s := range isIPLiteralSeeds {
		_, err := netip.ParseAddr(s)
		if got := IsIPLiteral(s); got != (err == nil) {
			t.Errorf("IsIPLiteral(%q) = %v, ParseAddr says %v", s, got, err == nil)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = IsIPLiteral("chatgpt.com") }); n != 0 {
		t.Errorf("IsIPLiteral of a name: %v allocations, want 0", n)
	}
}

func FuzzIsIPLiteral(f *testing.F) {
	for _, s := range isIPLiteralSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := netip.ParseAddr(s)
		if got := IsIPLiteral(s); got != (err == nil) {
			t.Errorf("IsIPLiteral(%q) = %v, ParseAddr says %v", s, got, err == nil)
		}
	})
}
