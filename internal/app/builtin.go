package app

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/demo"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// builtinOrigin serves the built-in demo origin (upstream builtin:demo) in-process: the proxy's
// transport reaches it through in-memory connections, so it has no port and nothing but
// Gatehouse can reach it. Its server starts with the first connection.
type builtinOrigin struct {
	ln      *pipeListener
	handler http.Handler
	start   sync.Once
	srv     *http.Server
}

func newBuiltinOrigin(h http.Handler) *builtinOrigin {
	return &builtinOrigin{ln: newPipeListener(), handler: h}
}

// dial connects to the origin.
func (b *builtinOrigin) dial(ctx context.Context) (net.Conn, error) {
	b.start.Do(func() {
		b.srv = &http.Server{Handler: b.handler, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = b.srv.Serve(b.ln) }()
	})
	return b.ln.dial(ctx)
}

// Close stops the origin.
func (b *builtinOrigin) Close() {
	_ = b.ln.Close()
	b.start.Do(func() {}) // no server after Close
	if b.srv != nil {
		_ = b.srv.Close()
	}
}

// upstreamTransport is the proxy's transport with builtin:demo connected to the built-in origin.
func (g *Gatehouse) upstreamTransport(timeout time.Duration) http.RoundTripper {
	t := proxy.NewTransport(timeout)
	dial := t.DialContext
	builtinAddr := net.JoinHostPort(snapshot.BuiltinDemoHost, "80")
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == builtinAddr {
			return g.builtin.dial(ctx)
		}
		return dial(ctx, network, addr)
	}
	return t
}

// newDemoOrigin is the built-in demo origin of g: it verifies the JWTs Gatehouse sends as an
// origin would, accepting the audience of every application whose upstream is builtin:demo.
func (g *Gatehouse) newDemoOrigin() *builtinOrigin {
	snap := g.Snapshots.Load()
	return newBuiltinOrigin(&demo.Upstream{Verifier: token.NewVerifier(g.Keys, snap.Issuer, g.now), Profile: snap.Profile,
		Audiences: func() []string {
			var auds []string
			for _, a := range g.Snapshots.Load().Apps {
				if a.Upstream == store.UpstreamBuiltinDemo && a.AUD != "" {
					auds = append(auds, a.AUD)
				}
			}
			return auds
		}})
}

// pipeListener is a net.Listener whose connections are in-memory pipes made by dial.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) dial(ctx context.Context) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	}
	client.Close()
	server.Close()
	return nil, net.ErrClosed
}

// Accept implements net.Listener.
func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr implements net.Listener.
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return snapshot.BuiltinDemoHost }
