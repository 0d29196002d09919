package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

// heldInterceptor holds each tunnel until the gateway's context ends.
type heldInterceptor struct{ started chan struct{} }

func (h heldInterceptor) Intercept(ctx context.Context, client net.Conn, _ *Tunnel) (int64, int64, error) {
	h.started <- struct{}{}
	<-ctx.Done()
	return 0, 0, nil
}

func (l *eventLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

// Shutdown ends the open tunnels and returns once they have written their events (so the
// usage recorder and the prompt log, closed next, lose nothing); a CONNECT after it is refused.
func TestShutdownWaitsForTunnels(t *testing.T) {
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
	events := &eventLog{}
	held := heldInterceptor{started: make(chan struct{}, 4)}
	g := New(holder, Options{Egress: &Egress{Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		Decide: func(context.Context, *Tunnel) TunnelAction { return TunnelIntercept }, Interceptor: held,
		Events: events, Log: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.Egress().SetSelf([]net.Addr{ln.Addr()})
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	echo := echoServer(t)

	for range 2 {
		if _, _, code := connect(t, ln.Addr().String(), echo, ""); code != 200 {
			t.Fatalf("CONNECT: %d", code)
		}
		<-held.started
	}
	if n := events.count(); n != 0 {
		t.Fatalf("%d events before the tunnels ended", n)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := events.count(); n != 2 {
		t.Errorf("Shutdown returned with %d of the 2 tunnels' events written", n)
	}
	if _, _, code := connect(t, ln.Addr().String(), echo, ""); code != http.StatusServiceUnavailable {
		t.Errorf("CONNECT after Shutdown: %d, want 503", code)
	}
}

// Shutdown gives up when its context ends first, and says so.
func TestActiveTunnelsDrainDeadline(t *testing.T) {
	var a activeTunnels
	if !a.enter() {
		t.Fatal("enter refused before drain")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := a.drain(ctx); err == nil {
		t.Error("drain with a tunnel open and a done context returned nil")
	}
	if a.enter() {
		t.Error("enter accepted while draining")
	}
	done := make(chan error, 1)
	go func() { done <- a.drain(context.Background()) }()
	a.leave()
	if err := <-done; err != nil {
		t.Errorf("drain after the last tunnel left: %v", err)
	}
}
