package httpx

import (
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00::/8"),
		netip.MustParsePrefix("::ffff:192.168.0.0/112"), // written 4-in-6: must still match 192.168.x.x
	}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string // "" = zero Addr
	}{
		{"untrusted peer", "203.0.113.7:5555", []string{"1.2.3.4"}, trusted, "203.0.113.7"},
		{"no trusted proxies", "10.0.0.1:5555", []string{"1.2.3.4"}, nil, "10.0.0.1"},
		{"trusted peer no xff", "10.0.0.1:5555", nil, trusted, "10.0.0.1"},
		{"trusted peer empty xff", "10.0.0.1:5555", []string{""}, trusted, "10.0.0.1"},
		{"one hop", "10.0.0.1:5555", []string{"198.51.100.9"}, trusted, "198.51.100.9"},
		{"spoofed left entries ignored", "10.0.0.1:5555", []string{"6.6.6.6, 198.51.100.9"}, trusted, "198.51.100.9"},
		{"skip trusted hops", "10.0.0.1:5555", []string{"6.6.6.6, 198.51.100.9, 10.1.1.1, 10.2.2.2"}, trusted, "198.51.100.9"},
		{"several header lines", "10.0.0.1:5555", []string{"6.6.6.6, 198.51.100.9", "10.1.1.1"}, trusted, "198.51.100.9"},
		{"all trusted", "10.0.0.1:5555", []string{"10.3.3.3, 10.2.2.2"}, trusted, "10.3.3.3"},
		{"malformed stops at last trusted hop", "10.0.0.1:5555", []string{"198.51.100.9, garbage, 10.2.2.2"}, trusted, "10.2.2.2"},
		{"malformed right away", "10.0.0.1:5555", []string{"unknown"}, trusted, "10.0.0.1"},
		{"obfuscated", "10.0.0.1:5555", []string{"_hidden"}, trusted, "10.0.0.1"},
		{"zone in xff", "10.0.0.1:5555", []string{"fe80::1%eth0"}, trusted, "10.0.0.1"},
		{"cidr in xff", "10.0.0.1:5555", []string{"1.2.3.0/24"}, trusted, "10.0.0.1"},
		{"empty elements skipped", "10.0.0.1:5555", []string{"198.51.100.9,, 10.2.2.2 ,"}, trusted, "198.51.100.9"},
		{"whitespace", "10.0.0.1:5555", []string{" \t198.51.100.9\t "}, trusted, "198.51.100.9"},
		{"entry with port", "10.0.0.1:5555", []string{"198.51.100.9:1234"}, trusted, "198.51.100.9"},
		{"v6 entry with port", "10.0.0.1:5555", []string{"[2001:db8::1]:1234"}, trusted, "2001:db8::1"},
		{"v6 entry", "[fd00::1]:5555", []string{"2001:db8::1"}, trusted, "2001:db8::1"},
		{"mapped entry unmapped", "10.0.0.1:5555", []string{"::ffff:198.51.100.9"}, trusted, "198.51.100.9"},
		{"mapped trusted entry skipped", "10.0.0.1:5555", []string{"198.51.100.9, ::ffff:10.9.9.9"}, trusted, "198.51.100.9"},
		{"mapped peer", "[::ffff:10.0.0.1]:5555", []string{"198.51.100.9"}, trusted, "198.51.100.9"},
		{"mapped untrusted peer unmapped", "[::ffff:203.0.113.7]:5555", nil, trusted, "203.0.113.7"},
		{"4-in-6 trusted prefix", "192.168.1.1:5555", []string{"198.51.100.9"}, trusted, "198.51.100.9"},
		{"zoned peer", "[fe80::1%eth0]:5555", nil, trusted, "fe80::1"},
		{"bare peer", "10.0.0.1", []string{"198.51.100.9"}, trusted, "198.51.100.9"},
		{"unix socket peer", "@", []string{"198.51.100.9"}, trusted, ""},
		{"empty peer", "", []string{"198.51.100.9"}, trusted, ""},
		{"garbage peer", "not-an-ip:80", nil, trusted, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ClientIP(tt.remote, tt.xff, tt.trusted)
			var want netip.Addr
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got != want {
				t.Fatalf("ClientIP(%q, %q) = %v, want %v", tt.remote, tt.xff, got, want)
			}
		})
	}
}

func BenchmarkClientIP(b *testing.B) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	xff := []string{"6.6.6.6, 198.51.100.9, 10.1.1.1"}
	b.ReportAllocs()
	for b.Loop() {
		ClientIP("10.0.0.1:5555", xff, trusted)
	}
}
