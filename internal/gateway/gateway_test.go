package gateway

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

const testSecret = "0123456789abcdef0123456789abcdef"

// newTestGateway serves a gateway with one service token (ci / testSecret) that may reach
// 127.0.0.1, and returns its address.
func newTestGateway(t testing.TB, opts Options) string {
	t.Helper()
	sum := sha256.Sum256([]byte(testSecret))
	snap, err := snapshot.Compile(&store.Config{
		Organization:  store.Organization{Name: "Test", AuthDomain: "auth.example.com", Wire: store.WireGatehouse},
		ServiceTokens: []store.ServiceToken{{ID: "ci", Name: "ci", ClientID: "ci", ClientSecretSHA256: hex.EncodeToString(sum[:])}},
	}, snapshot.Options{Scheme: "http", Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	holder := &snapshot.Holder{}
	holder.Store(snap)
	if opts.Egress == nil {
		opts.Egress = &Egress{Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	g := New(holder, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.Egress().SetSelf([]net.Addr{ln.Addr()})
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); g.Close() })
	return ln.Addr().String()
}

// echoServer accepts connections and echoes what it reads.
func echoServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

// connect opens a tunnel through the gateway at gw, sending early right after the head (in the
// same write), and returns the connection and the status.
func connect(t testing.TB, gw, dest, early string) (net.Conn, *bufio.Reader, int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", gw, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	auth := base64.StdEncoding.EncodeToString([]byte("ci:" + testSecret))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n%s", dest, dest, auth, early)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	return c, br, resp.StatusCode
}

// recordingInterceptor is an Interceptor that dials the destination and splices, recording
// the tunnels it was given.
type recordingInterceptor struct {
	mu      sync.Mutex
	tunnels []*Tunnel
}

func (ri *recordingInterceptor) Intercept(ctx context.Context, client net.Conn, t *Tunnel) (int64, int64, error) {
	ri.mu.Lock()
	ri.tunnels = append(ri.tunnels, t)
	ri.mu.Unlock()
	up, err := t.Dial(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer up.Close()
	u, d := Splice(client, up, time.Minute)
	return u, d, nil
}

// TestInterceptSeam: the decider sees the authenticated, vetted tunnel; the interceptor gets
// the client's connection with the bytes sent right after the CONNECT head first; without an
// interceptor an intercept decision fails closed.
func TestInterceptSeam(t *testing.T) {
	echo := echoServer(t)
	ri := &recordingInterceptor{}
	var decided []*Tunnel
	var mu sync.Mutex
	gw := newTestGateway(t, Options{Interceptor: ri, Decide: func(_ context.Context, tn *Tunnel) TunnelAction {
		mu.Lock()
		decided = append(decided, tn)
		mu.Unlock()
		return TunnelIntercept
	}})
	c, br, status := connect(t, gw, echo, "early-bytes")
	if status != http.StatusOK {
		t.Fatalf("CONNECT: %d", status)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, len("early-bytes"))
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "early-bytes" {
		t.Fatalf("echo of the early bytes: %q %v", buf, err)
	}
	mu.Lock()
	defer mu.Unlock()
	ri.mu.Lock()
	defer ri.mu.Unlock()
	if len(decided) != 1 || len(ri.tunnels) != 1 || decided[0] != ri.tunnels[0] {
		t.Fatalf("decided %v, intercepted %v", decided, ri.tunnels)
	}
	tn := decided[0]
	if tn.Dest.String() != echo || tn.Identity == nil || tn.Identity.ServiceTokenID != "ci" || len(tn.Addrs) != 1 {
		t.Errorf("tunnel: %+v identity %+v", tn, tn.Identity)
	}

	noInterceptor := newTestGateway(t, Options{Decide: func(context.Context, *Tunnel) TunnelAction { return TunnelIntercept }})
	if _, _, status := connect(t, noInterceptor, echo, ""); status != http.StatusBadGateway {
		t.Errorf("intercept without an interceptor: %d, want 502", status)
	}
}

// BenchmarkBlindTunnel measures 16 KiB round trips through one spliced CONNECT tunnel: the
// baseline a peek-then-splice tunnel is compared with.
func BenchmarkBlindTunnel(b *testing.B) {
	echo := echoServer(b)
	gw := newTestGateway(b, Options{})
	c, br, status := connect(b, gw, echo, "")
	if status != http.StatusOK {
		b.Fatalf("CONNECT: %d", status)
	}
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	msg := make([]byte, 16<<10)
	got := make([]byte, len(msg))
	b.SetBytes(int64(2 * len(msg)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(br, got); err != nil {
			b.Fatal(err)
		}
	}
}
