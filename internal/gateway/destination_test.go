package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/netguard"
)

func TestParseAuthority(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM:443":           "example.com:443",
		"example.com.:8443":         "example.com:8443",
		"[::1]:443":                 "[::1]:443",
		"[0:0::1]:443":              "[::1]:443",
		"[::ffff:10.0.0.1]:80":      "10.0.0.1:80",
		"2130706433:443":            "127.0.0.1:443",
		"0x7f.1:443":                "127.0.0.1:443",
		"0177.0.0.01:443":           "127.0.0.1:443",
		"169.254.43518:80":          "169.254.169.254:80",
		"chatgpt.com:00443":         "chatgpt.com:443",
		"api.openai.com:443":        "api.openai.com:443",
		"xn--bcher-kva.example:443": "xn--bcher-kva.example:443",
	} {
		d, err := ParseAuthority(in, 0)
		if err != nil || d.String() != want {
			t.Errorf("ParseAuthority(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	if d, err := ParseAuthority("example.com", 80); err != nil || d.String() != "example.com:80" {
		t.Errorf("default port: %v %v", d, err)
	}
	for in, want := range map[string]error{
		"":                     ErrBadAuthority,
		"example.com":          ErrBadPort,
		"example.com:":         ErrBadPort,
		"example.com:0":        ErrBadPort,
		"example.com:65536":    ErrBadPort,
		"example.com:+443":     ErrBadPort,
		"example.com:0x1bb":    ErrBadPort,
		"[::1]":                ErrBadPort,
		"[::1]x:443":           ErrBadAuthority,
		"[::1:443":             ErrBadHost,
		"::1:443":              ErrBadHost,
		"[fe80::1%25eth0]:443": ErrBadHost,
		"user@example.com:443": ErrBadAuthority,
		"example.com/x:443":    ErrBadAuthority,
		"exa mple.com:443":     ErrBadAuthority,
		"a..b:443":             ErrBadHost,
		"1.2.3.4.5:443":        ErrBadHost,
		"example.0x10:443":     ErrBadHost,
		"256.1.1.1:443":        ErrBadHost,
		"bücher.example:443":   ErrBadHost,
		"[127.0.0.1]:443":      ErrBadHost,
	} {
		if d, err := ParseAuthority(in, 0); !errors.Is(err, want) {
			t.Errorf("ParseAuthority(%q) = %v, %v; want %v", in, d, err, want)
		}
	}
}

// fakeResolver answers from a map and counts lookups.
type fakeResolver struct {
	answers map[string][]netip.Addr
	lookups int
}

func (f *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.lookups++
	a, ok := f.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return a, nil
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func TestEgressResolve(t *testing.T) {
	r := &fakeResolver{answers: map[string][]netip.Addr{
		"public.example":   addrs("93.184.215.14"),
		"mixed.example":    addrs("10.0.0.1", "93.184.215.14", "::ffff:169.254.169.254"),
		"internal.example": addrs("10.0.0.1", "127.0.0.1"),
		"metadata.example": addrs("169.254.169.254"),
	}}
	e := &Egress{Resolver: r, Pins: map[string]netip.Addr{"pinned.example": netip.MustParseAddr("10.1.2.3")},
		Allowed: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}
	e.SetSelf([]net.Addr{&net.TCPAddr{IP: net.IPv4(10, 1, 9, 9), Port: 3128}})
	for host, want := range map[string]string{
		"public.example": "93.184.215.14", "mixed.example": "93.184.215.14", "pinned.example": "10.1.2.3",
		"10.1.0.1": "10.1.0.1", "8.8.8.8": "8.8.8.8",
	} {
		got, err := e.Resolve(context.Background(), Destination{Host: host, Port: 443})
		if err != nil || len(got) != 1 || got[0].String() != want {
			t.Errorf("Resolve(%s) = %v, %v; want [%s]", host, got, err, want)
		}
	}
	for host, reason := range map[string]string{
		"internal.example": "destination-loopback", "metadata.example": "destination-metadata",
		"127.0.0.1": "destination-loopback", "10.2.0.1": "destination-private", "169.254.169.254": "destination-metadata",
		"::": "destination-unspecified", "ff02::1": "destination-multicast", "100.64.0.1": "destination-private",
	} {
		_, err := e.Resolve(context.Background(), Destination{Host: host, Port: 443})
		var re *RefusedError
		if !errors.As(err, &re) || re.Reason != reason {
			t.Errorf("Resolve(%s) = %v; want refused with %s", host, err, reason)
		}
	}
	// The gateway's own listener is refused even inside an allowed network.
	if _, err := e.Resolve(context.Background(), Destination{Host: "10.1.9.9", Port: 3128}); err == nil || !strings.Contains(err.Error(), "this gateway itself") {
		t.Errorf("self: %v", err)
	}
	if _, err := e.Resolve(context.Background(), Destination{Host: "10.1.9.9", Port: 3129}); err != nil {
		t.Errorf("another port of the gateway's address is not the gateway: %v", err)
	}
	if _, err := e.Resolve(context.Background(), Destination{Host: "nx.example", Port: 443}); !errors.Is(err, ErrUnresolvable) {
		t.Errorf("unresolvable: %v", err)
	}
}

// TestEgressDialsVettedAddress: the connection goes to the address that was vetted, whatever
// DNS answers later (rebinding).
func TestEgressDialsVettedAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("vetted"))
			c.Close()
		}
	}()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	r := &fakeResolver{answers: map[string][]netip.Addr{"rebind.example": addrs("127.0.0.1")}}
	e := &Egress{Resolver: r, Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	d := Destination{Host: "rebind.example", Port: port}
	vetted, err := e.Resolve(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	r.answers["rebind.example"] = addrs("169.254.169.254") // the attacker's second answer
	c, err := e.Dial(context.Background(), d, vetted)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 6)
	if _, err := c.Read(buf); err != nil || string(buf) != "vetted" {
		t.Fatalf("read %q, %v", buf, err)
	}
	if r.lookups != 1 {
		t.Errorf("the name was resolved %d times, want once", r.lookups)
	}
}

func TestLocations(t *testing.T) {
	lt := newLocationTable([]Location{
		{Name: "office", Networks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		{Name: "lab", Networks: []netip.Prefix{netip.MustParsePrefix("10.5.0.0/16"), netip.MustParsePrefix("2001:db8::/32")}},
	})
	for ip, want := range map[string]string{"10.1.1.1": "office", "10.5.1.1": "lab", "::ffff:10.5.1.1": "lab", "2001:db8::5": "lab", "192.0.2.1": ""} {
		if got := lt.lookup(netip.MustParseAddr(ip)); got != want {
			t.Errorf("location of %s = %q, want %q", ip, got, want)
		}
	}
}

func TestPAC(t *testing.T) {
	got := PAC("gw.example.com:3128", "auth.example.com")
	want := `// Proxy auto-configuration served by the Gatehouse gateway.
function FindProxyForURL(url, host) {
  host = host.toLowerCase();
  if (isPlainHostName(host) || host === "auth.example.com") {
    return "DIRECT";
  }
  return "PROXY gw.example.com:3128";
}
`
	if got != want {
		t.Errorf("PAC:\n%s\nwant:\n%s", got, want)
	}
}

// refInetAton is an independent reading of a host as inet_aton (and WHATWG URL parsers) would
// read it as an IPv4 address: one to four parts, each decimal, 0-prefixed octal or 0x
// hexadecimal, the last filling the remaining bytes.
func refInetAton(h string) (netip.Addr, bool) {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	parts := strings.Split(h, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	var vals []uint64
	for _, p := range parts {
		// strconv's base 0 also takes 0b, 0o and '_', which inet_aton does not.
		if p == "" || strings.Contains(p, "_") || strings.HasPrefix(p, "0b") || strings.HasPrefix(p, "0o") {
			return netip.Addr{}, false
		}
		if p == "0x" {
			vals = append(vals, 0)
			continue
		}
		v, err := strconv.ParseUint(p, 0, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals = append(vals, v)
	}
	var v uint64
	for i, p := range vals {
		if i < len(vals)-1 {
			if p > 255 {
				return netip.Addr{}, false
			}
			v = v<<8 | p
			continue
		}
		rest := 4 - i
		if p >= 1<<(8*rest) {
			return netip.Addr{}, false
		}
		v = v<<(8*rest) | p
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// FuzzDestination: parsing never panics; the canonical form parses to itself; a host any
// inet_aton-like parser reads as an IPv4 address is that address here (never a name a resolver
// could read differently); and an address's verdict depends on the address alone, whatever its
// spelling.
func FuzzDestination(f *testing.F) {
	for _, s := range []string{
		"example.com:443", "Example.COM.:443", "[::1]:80", "[::ffff:127.0.0.1]:443", "2130706433:80", "0x7f000001:80",
		"0177.0.0.1:80", "127.1:80", "0x7f.1:80", "169.254.169.254:80", "0251.0376.0251.0376:80", "169.254.43518:80",
		"[fd00:ec2::254]:80", "[fe80::1%25eth0]:80", "0:80", "0x:80", "1.2.3.4.5:80", "a..b:1", "[::]:443",
		"user@host:1", "host:65536", "10.0.0.1.:22", "[64:ff9b::a9fe:a9fe]:80", "xn--80ak6aa92e.com:443", "00000000177.1:1",
	} {
		f.Add(s)
	}
	e := &Egress{}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseAuthority(s, 0)
		if err != nil {
			return
		}
		if d.Port == 0 {
			t.Fatalf("%q: port 0", s)
		}
		again, err := ParseAuthority(d.String(), 0)
		if err != nil || again != d {
			t.Fatalf("%q → %v, which parses as %v, %v", s, d, again, err)
		}
		if c, err := netguard.CanonicalHost(d.Host); err != nil || c != d.Host {
			t.Fatalf("%q: host %q is not canonical (%q, %v)", s, d.Host, c, err)
		}
		raw := s[:strings.LastIndexByte(s, ':')]
		if ref, ok := refInetAton(raw); ok && d.Host != ref.String() {
			t.Fatalf("%q: an inet_aton-like parser reads %s, the gateway %q", s, ref, d.Host)
		}
		addr, err := netip.ParseAddr(d.Host)
		if !d.IsIP() {
			if err == nil || net.ParseIP(d.Host) != nil {
				t.Fatalf("%q: %q is an address but not treated as one", s, d.Host)
			}
			return
		}
		got := e.Vet(d, addr) == nil
		if want := netguard.Classify(addr) == netguard.ClassPublic; got != want {
			t.Fatalf("%q: Vet(%s) allowed=%v, but its class is %s", s, addr, got, netguard.Classify(addr))
		}
		if got != (e.Vet(again, netip.MustParseAddr(again.Host)) == nil) {
			t.Fatalf("%q: the canonical spelling gets another verdict", s)
		}
	})
}

// spellings returns ways clients and resolvers write the IPv4 address a.
func spellings(a netip.Addr) []string {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	oct := func(x uint32) string { return "0" + strconv.FormatUint(uint64(x), 8) }
	hex := func(x uint32) string { return "0x" + strconv.FormatUint(uint64(x), 16) }
	return []string{
		a.String(), a.String() + ".",
		strconv.FormatUint(uint64(v), 10), hex(v), strings.ToUpper(hex(v)), oct(v),
		fmt.Sprintf("%s.%s.%s.%s", oct(uint32(b[0])), oct(uint32(b[1])), oct(uint32(b[2])), oct(uint32(b[3]))),
		fmt.Sprintf("%s.%s.%s.%s", hex(uint32(b[0])), hex(uint32(b[1])), hex(uint32(b[2])), hex(uint32(b[3]))),
		fmt.Sprintf("%d.%d", b[0], v&0xffffff), fmt.Sprintf("%d.%d.%d", b[0], b[1], v&0xffff),
		fmt.Sprintf("%s.%d.%s", hex(uint32(b[0])), b[1], oct(v&0xffff)),
		"[::ffff:" + a.String() + "]", fmt.Sprintf("[::ffff:%x:%x]", v>>16, v&0xffff),
		fmt.Sprintf("[0:0:0:0:0:FFFF:%s]", a),
	}
}

// TestVerdictIndependentOfSpelling: every spelling of an address gets the address's verdict.
func TestVerdictIndependentOfSpelling(t *testing.T) {
	e := &Egress{Allowed: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}
	for _, s := range []string{"127.0.0.1", "127.3.2.1", "10.0.0.1", "10.9.8.7", "172.16.5.4", "192.168.0.1", "169.254.169.254",
		"169.254.0.1", "100.100.100.200", "100.64.0.1", "0.0.0.0", "224.0.0.251", "255.255.255.255", "8.8.8.8", "93.184.215.14"} {
		a := netip.MustParseAddr(s)
		want := e.Vet(Destination{Host: s, Port: 80}, a)
		for _, sp := range spellings(a) {
			d, err := ParseAuthority(sp+":80", 0)
			if err != nil {
				t.Errorf("%s: %v", sp, err)
				continue
			}
			got, err := e.Resolve(context.Background(), d)
			if (err == nil) != (want == nil) {
				t.Errorf("%s (%s): resolve %v, %v; the canonical spelling's verdict is %v", sp, s, got, err, want)
			}
			if d.Host != s {
				t.Errorf("%s: canonical host %q, want %s", sp, d.Host, s)
			}
		}
	}
}
