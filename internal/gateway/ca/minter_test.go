package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestMinter(t testing.TB, a *Authority, opts MinterOptions) *Minter {
	t.Helper()
	m, err := NewMinter(a, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMintedLeaf(t *testing.T) {
	clock := newTestClock()
	mgr, _ := newTestManager(t, clock.Now)
	auth := activeAuthority(t, mgr)
	m := newTestMinter(t, auth, MinterOptions{Now: clock.Now})

	for _, tc := range []struct {
		sni, verifyAs string
		ip            bool
	}{
		{"chatgpt.com", "chatgpt.com", false},
		{"API.OpenAI.com.", "api.openai.com", false},
		{"192.0.2.7", "192.0.2.7", true},
		{"2001:db8::1", "2001:db8::1", true},
		{"::ffff:198.51.100.1", "198.51.100.1", true},
	} {
		t.Run(tc.sni, func(t *testing.T) {
			cert, err := m.Certificate(t.Context(), tc.sni)
			if err != nil {
				t.Fatal(err)
			}
			if len(cert.Certificate) != 2 {
				t.Fatalf("chain has %d certificates, want leaf and CA", len(cert.Certificate))
			}
			leaf, err := x509.ParseCertificate(cert.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			_, err = leaf.Verify(x509.VerifyOptions{
				DNSName: tc.verifyAs, Roots: caPool(auth), CurrentTime: clock.Now(),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if err != nil {
				t.Fatalf("leaf does not verify for %s: %v", tc.verifyAs, err)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.example", Roots: caPool(auth), CurrentTime: clock.Now()}); err == nil {
				t.Error("leaf verifies for another name")
			}
			if tc.ip {
				if len(leaf.IPAddresses) != 1 || len(leaf.DNSNames) != 0 || leaf.IPAddresses[0].String() != tc.verifyAs {
					t.Errorf("SANs: IPs %v DNS %v; want IP %s only", leaf.IPAddresses, leaf.DNSNames, tc.verifyAs)
				}
			} else if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != tc.verifyAs || len(leaf.IPAddresses) != 0 {
				t.Errorf("SANs: DNS %v IPs %v; want DNS %s only", leaf.DNSNames, leaf.IPAddresses, tc.verifyAs)
			}
			if leaf.IsCA || len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || leaf.KeyUsage != x509.KeyUsageDigitalSignature {
				t.Errorf("leaf usage: CA %v EKU %v KU %b", leaf.IsCA, leaf.ExtKeyUsage, leaf.KeyUsage)
			}
			if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
				t.Errorf("leaf key %T, want ECDSA P-256", leaf.PublicKey)
			}
			if !leaf.NotBefore.Equal(clock.Now().Add(-time.Hour)) || !leaf.NotAfter.Equal(clock.Now().Add(DefaultLeafValidity)) {
				t.Errorf("leaf valid %v to %v; want an hour before now to now+%s", leaf.NotBefore, leaf.NotAfter, DefaultLeafValidity)
			}
			if leaf.SerialNumber.Sign() <= 0 || leaf.SerialNumber.BitLen() > 128 {
				t.Errorf("serial %v: want a positive 128-bit number", leaf.SerialNumber)
			}
			if cert.Leaf == nil || !cert.Leaf.Equal(leaf) {
				t.Error("tls.Certificate.Leaf is not the leaf")
			}
		})
	}
}

func TestInvalidNames(t *testing.T) {
	clock := newTestClock()
	mgr, _ := newTestManager(t, clock.Now)
	m := newTestMinter(t, activeAuthority(t, mgr), MinterOptions{Now: clock.Now})
	for _, name := range []string{
		"", ".", "*.example.com", "exa mple.com", "example.com:443", "-a.example", "a-.example", "a..b",
		strings.Repeat("a", 64) + ".example", strings.Repeat("abcdefghi.", 26) + "com", "1.2.3", "10.0.0.256",
		"fe80::1%eth0", "[::1]", "é.example", "example.com/", "exa\x00mple.com",
	} {
		if _, err := m.Certificate(t.Context(), name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Certificate(%q): %v, want ErrInvalidName", name, err)
		}
	}
	_, err := m.GetCertificate(&tls.ClientHelloInfo{})
	if !errors.Is(err, ErrNoSNI) || !strings.Contains(err.Error(), "no server name") {
		t.Errorf("GetCertificate without SNI: %v", err)
	}
	if st := m.Stats(); st.Mints != 0 || st.Entries != 0 {
		t.Errorf("invalid names minted: %+v", st)
	}
}

func TestNoAuthority(t *testing.T) {
	m := newTestMinter(t, nil, MinterOptions{})
	if _, err := m.Certificate(t.Context(), "example.com"); !errors.Is(err, ErrNoCAInUse) {
		t.Fatalf("Certificate without a CA: %v", err)
	}
	for _, o := range []MinterOptions{{LeafValidity: time.Hour}, {LeafValidity: 8 * 24 * time.Hour}, {MaxEntries: -1}} {
		if _, err := NewMinter(nil, o); err == nil {
			t.Errorf("NewMinter(%+v) succeeded", o)
		}
	}
}

func TestLeafNeverOutlivesCA(t *testing.T) {
	clock := newTestClock()
	mgr, _ := newTestManager(t, clock.Now)
	info, err := mgr.Generate(t.Context(), MinValidity)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgr.Activate(t.Context(), info.ID); err != nil {
		t.Fatal(err)
	}
	auth, err := mgr.InUse(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	m := newTestMinter(t, auth, MinterOptions{Now: clock.Now})
	clock.Advance(MinValidity - 2*time.Hour)
	cert, err := m.Certificate(t.Context(), "late.example")
	if err != nil {
		t.Fatal(err)
	}
	if !cert.Leaf.NotAfter.Equal(info.NotAfter) {
		t.Errorf("leaf NotAfter %v, want the CA's %v", cert.Leaf.NotAfter, info.NotAfter)
	}
	clock.Advance(2 * time.Hour)
	if _, err := m.Certificate(t.Context(), "expired.example"); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("minting with an expired CA: %v", err)
	}
}

func TestCache(t *testing.T) {
	clock := newTestClock()
	mgr, _ := newTestManager(t, clock.Now)
	auth := activeAuthority(t, mgr)
	m := newTestMinter(t, auth, MinterOptions{Now: clock.Now, MaxEntries: 2})
	ctx := t.Context()
	get := func(name string) *tls.Certificate {
		t.Helper()
		c, err := m.Certificate(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := get("a.example")
	if get("A.Example.") != a {
		t.Error("case and trailing-dot variants minted another leaf")
	}
	b := get("b.example")
	get("a.example") // a is now the most recently used
	get("c.example") // evicts b
	if st := m.Stats(); st.Mints != 3 || st.Hits != 2 || st.Entries != 2 {
		t.Errorf("stats %+v, want 3 mints, 2 hits, 2 entries", st)
	}
	if get("a.example") != a {
		t.Error("a was evicted instead of b")
	}
	if b2 := get("b.example"); b2 == b || b2.Leaf.SerialNumber.Cmp(b.Leaf.SerialNumber) == 0 {
		t.Error("b was not evicted, or its replacement reuses the serial")
	}

	// Renewal: past two thirds of its life, the cached leaf is still served while a new one is
	// minted in the background; the next request gets the new one.
	clock.Advance(DefaultLeafValidity * 2 / 3)
	if got := get("a.example"); got != a {
		t.Error("a leaf due for renewal was not served while its replacement was minted")
	}
	deadline := time.Now().Add(10 * time.Second)
	for m.Stats().Mints < 5 {
		if time.Now().After(deadline) {
			t.Fatal("no background renewal")
		}
		time.Sleep(time.Millisecond)
	}
	a2 := get("a.example")
	if a2 == a || !a2.Leaf.NotAfter.Equal(clock.Now().Add(DefaultLeafValidity)) {
		t.Errorf("renewed leaf valid until %v, want %v", a2.Leaf.NotAfter, clock.Now().Add(DefaultLeafValidity))
	}

	// Close to expiry a cached leaf is never served: the request waits for a new one.
	c := get("c.example")
	clock.Advance(DefaultLeafValidity - time.Minute)
	if got := get("c.example"); got == c || !got.Leaf.NotAfter.After(clock.Now().Add(time.Hour)) {
		t.Error("a leaf about to expire was served")
	}

	// Another CA in use empties the cache; its leaves chain to it.
	info, err := mgr.Generate(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgr.Activate(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	next, err := mgr.InUse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.SetAuthority(next)
	if m.Authority() != next || m.Stats().Entries != 0 {
		t.Fatal("SetAuthority did not switch and empty the cache")
	}
	leaf := get("a.example").Leaf
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "a.example", Roots: caPool(next), CurrentTime: clock.Now()}); err != nil {
		t.Errorf("leaf after the switch does not chain to the new CA: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "a.example", Roots: caPool(auth), CurrentTime: clock.Now()}); err == nil {
		t.Error("leaf after the switch chains to the old CA")
	}
}

// TestSlowMintBlocksNoOne holds one name's mint and checks that other names are minted
// meanwhile, that a waiter can give up, and that the held mint still completes for everyone.
func TestSlowMintBlocksNoOne(t *testing.T) {
	mgr, _ := newTestManager(t, time.Now)
	m := newTestMinter(t, activeAuthority(t, mgr), MinterOptions{})
	release := make(chan struct{})
	m.beforeMint = func(name string) {
		if name == "slow.example" {
			<-release
		}
	}
	slow := make(chan error, 1)
	go func() {
		_, err := m.Certificate(context.Background(), "slow.example")
		slow <- err
	}()
	for i := range 20 {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		_, err := m.Certificate(ctx, fmt.Sprintf("fast%d.example", i))
		cancel()
		if err != nil {
			t.Fatalf("a fast name waited for the slow one: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	_, err := m.Certificate(ctx, "slow.example")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiter on the slow mint: %v, want its deadline", err)
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Mints != 21 {
		t.Errorf("%d mints, want 21 (the slow name once)", st.Mints)
	}
}

// TestConcurrentNewNames asks for 256 never-seen names at once, four times each: every
// request succeeds, each name is minted once, and all serials differ.
func TestConcurrentNewNames(t *testing.T) {
	mgr, _ := newTestManager(t, time.Now)
	auth := activeAuthority(t, mgr)
	m := newTestMinter(t, auth, MinterOptions{})
	const names, per = 256, 4
	certs := make([][per]*tls.Certificate, names)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range names {
		for j := range per {
			wg.Go(func() {
				<-start
				c, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: fmt.Sprintf("app%03d.example.com", i)})
				if err != nil {
					t.Errorf("name %d: %v", i, err)
				}
				certs[i][j] = c
			})
		}
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	serials := map[string]bool{}
	for i := range names {
		for j := 1; j < per; j++ {
			if certs[i][j] != certs[i][0] {
				t.Fatalf("name %d was minted more than once", i)
			}
		}
		s := certs[i][0].Leaf.SerialNumber.String()
		if serials[s] {
			t.Fatalf("serial %s reused", s)
		}
		serials[s] = true
		if err := certs[i][0].Leaf.VerifyHostname(fmt.Sprintf("app%03d.example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	if st := m.Stats(); st.Mints != names || st.Entries != names || st.Failed != 0 {
		t.Errorf("stats %+v, want %d mints and entries", st, names)
	}
}

// TestTLSHandshake serves TLS with GetCertificate and connects with a Go client that trusts
// only the gateway CA, for several names.
func TestTLSHandshake(t *testing.T) {
	mgr, _ := newTestManager(t, time.Now)
	auth := activeAuthority(t, mgr)
	m := newTestMinter(t, auth, MinterOptions{})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: m.GetCertificate, MinVersion: tls.VersionTLS12})
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
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err != nil {
					t.Logf("server handshake: %v", err)
					return
				}
				if _, err := c.Write([]byte("hello " + c.(*tls.Conn).ConnectionState().ServerName)); err != nil {
					t.Logf("server write: %v", err)
				}
			}()
		}
	}()
	dial := func(cfg *tls.Config) (string, *x509.Certificate, error) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), cfg)
		if err != nil {
			return "", nil, err
		}
		defer c.Close()
		got, err := io.ReadAll(c)
		return string(got), c.ConnectionState().PeerCertificates[0], err
	}
	for _, name := range []string{"chatgpt.com", "claude.ai", "api.anthropic.com", "copilot.microsoft.com"} {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			got, leaf, err := dial(&tls.Config{ServerName: name, RootCAs: caPool(auth), MinVersion: v, MaxVersion: v})
			if err != nil {
				t.Fatalf("%s (TLS %x): %v", name, v, err)
			}
			if got != "hello "+name || leaf.DNSNames[0] != name {
				t.Errorf("%s: got %q with leaf for %v", name, got, leaf.DNSNames)
			}
		}
	}
	// A client that does not trust the gateway CA refuses the leaf.
	if _, _, err := dial(&tls.Config{ServerName: "chatgpt.com", RootCAs: x509.NewCertPool()}); err == nil {
		t.Error("a client without the CA accepted the leaf")
	}
	// A client that sends no SNI gets no certificate.
	if _, _, err := dial(&tls.Config{InsecureSkipVerify: true}); err == nil {
		t.Error("a handshake without SNI succeeded")
	}
}

func BenchmarkMintLeaf(b *testing.B) {
	mgr, _ := newTestManager(b, time.Now)
	m := newTestMinter(b, activeAuthority(b, mgr), MinterOptions{})
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := m.Certificate(ctx, fmt.Sprintf("n%d.example.com", i)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetCertificateCached(b *testing.B) {
	mgr, _ := newTestManager(b, time.Now)
	m := newTestMinter(b, activeAuthority(b, mgr), MinterOptions{})
	hello := &tls.ClientHelloInfo{ServerName: "chatgpt.com"}
	if _, err := m.GetCertificate(hello); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.GetCertificate(hello); err != nil {
				b.Fatal(err)
			}
		}
	})
}
