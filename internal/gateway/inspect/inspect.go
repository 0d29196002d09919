// Package inspect owns the gateway's TLS inspection: it decides which CONNECT tunnels are
// decrypted (a gateway.TunnelDecider), reads the ClientHello's server name before deciding
// (replaying the bytes afterwards), splices the tunnels a Do Not Inspect rule lets through
// when the server name agrees with the CONNECT destination, and for the others terminates the
// client's TLS with a leaf minted by the organisation CA (ca.Minter), serves the decrypted
// HTTP/1.1 requests (read strictly by package h1, served in the tunnel's goroutine) or HTTP/2
// requests (net/http's server) through the gateway's policy pipeline (gateway.Tunnel.Handler)
// and forwards them over TLS to the destination, verified against the system roots and
// gateway.upstream_ca_files (a gateway.Interceptor).
package inspect

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/gateway/ca"
)

// Options configure an Inspector.
type Options struct {
	// Minter mints the leaves shown to clients; it follows the CA in use (ca.Manager.Follow).
	// Tunnels are decrypted only while it has a CA.
	Minter *ca.Minter
	// Roots verify destinations' certificates (system roots plus gateway.upstream_ca_files).
	Roots *x509.CertPool
	// Disabled turns decryption off (tls_decrypt.enabled: false): every tunnel is spliced.
	Disabled bool
	// HandshakeTimeout bounds reading the ClientHello and each TLS handshake; default 10s.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a decrypted client connection idle between requests; default 2m
	// (HTTP/1.1 connections: after at least IdleTimeout less 1/64 of it, at most a second).
	IdleTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for a destination's response headers; default 2m.
	ResponseHeaderTimeout time.Duration
	// MaxHeaderBytes bounds a decrypted request's headers; default 64KiB.
	MaxHeaderBytes int
	// Metrics, when set, counts intercepted tunnels and handshakes.
	Metrics *Metrics
	Log     *slog.Logger
}

// Inspector decrypts CONNECT tunnels. It is safe for concurrent use.
type Inspector struct {
	opts Options
	// transports are the upstream round trippers by [untrusted][http1].
	transports [2][2]*http.Transport
	log        *slog.Logger
}

// New returns an Inspector.
func New(opts Options) *Inspector {
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = 10 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 2 * time.Minute
	}
	if opts.ResponseHeaderTimeout <= 0 {
		opts.ResponseHeaderTimeout = 2 * time.Minute
	}
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = 64 << 10
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	in := &Inspector{opts: opts, log: opts.Log}
	for u := range 2 {
		for h := range 2 {
			in.transports[u][h] = in.newTransport(u == 1, h == 1)
		}
	}
	return in
}

// Decide is the gateway's TunnelDecider: decrypt when decryption is enabled and a CA is in use,
// else splice.
func (in *Inspector) Decide(_ context.Context, _ *gateway.Tunnel) gateway.TunnelAction {
	if in.opts.Disabled || in.opts.Minter == nil || in.opts.Minter.Authority() == nil {
		return gateway.TunnelSplice
	}
	return gateway.TunnelIntercept
}

// Intercept implements gateway.Interceptor.
func (in *Inspector) Intercept(ctx context.Context, client net.Conn, t *gateway.Tunnel) (up, down int64, err error) {
	_ = client.SetReadDeadline(time.Now().Add(in.opts.HandshakeTimeout))
	raw, hello, err := ReadClientHello(client)
	_ = client.SetReadDeadline(time.Time{})
	if err != nil {
		// Bytes that do not even start a TLS record (SSH, plain protocols) may be spliced by a
		// Do Not Inspect rule on the CONNECT destination; anything that starts like TLS but
		// does not parse is refused, lest another parser find a server name in it.
		if errors.Is(err, ErrNotTLS) && len(raw) > 0 && raw[0] != recordHandshake && t.DoNotInspectPlain() {
			in.count("spliced")
			return t.Splice(ctx, &replayConn{Conn: client, prefix: raw})
		}
		in.count("not-tls")
		t.Refuse("not-tls")
		return int64(len(raw)), 0, fmt.Errorf("inspect: %w", err)
	}
	replay := &replayConn{Conn: client, prefix: raw}
	splice, err := t.DoNotInspect(hello.ServerName)
	if err != nil {
		in.count("sni-mismatch")
		return int64(len(raw)), 0, err
	}
	if splice {
		in.count("spliced")
		return t.Splice(ctx, replay)
	}
	return in.decrypt(ctx, replay, t, hello)
}

func (in *Inspector) count(result string) {
	if in.opts.Metrics != nil {
		in.opts.Metrics.Tunnels.WithLabelValues(result).Inc()
	}
}

// decrypt terminates the client's TLS and serves the decrypted requests.
func (in *Inspector) decrypt(ctx context.Context, client net.Conn, t *gateway.Tunnel, hello *ClientHello) (up, down int64, err error) {
	name := hello.ServerName
	if name == "" {
		name = t.Dest.Host
	}
	counted := &countingConn{Conn: client}
	done := make(chan struct{})
	inner := &notifyConn{Conn: counted, done: done}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return in.opts.Minter.Certificate(ctx, name)
		},
	}
	tc := tls.Server(inner, cfg)
	hctx, cancel := context.WithTimeout(ctx, in.opts.HandshakeTimeout)
	err = tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		in.count("handshake-failed")
		t.Refuse("client-handshake-failed")
		return counted.read.Load(), counted.written.Load(), fmt.Errorf("inspect: client handshake: %w", err)
	}
	in.count("decrypted")
	if tc.ConnectionState().NegotiatedProtocol != "h2" {
		// HTTP/1.1: one request at a time, read strictly and served in this goroutine, each
		// over the tunnel's own upstream connection.
		pin := newPinnedUpstream(ctx, in, t)
		defer pin.close()
		stop := context.AfterFunc(ctx, func() { _ = inner.Close() })
		if in.serveHTTP1(ctx, tc, t.Handler(pin.transport), pin) {
			<-done // the hijacker (a protocol switch) closes the connection
		} else {
			_ = tc.Close()
		}
		stop()
		return counted.read.Load(), counted.written.Load(), nil
	}
	ln := newOneConnListener(tc, done)
	srv := &http.Server{
		Handler:           t.Handler(in.upstream),
		ReadHeaderTimeout: in.opts.HandshakeTimeout,
		IdleTimeout:       in.opts.IdleTimeout,
		MaxHeaderBytes:    in.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(in.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	srv.Protocols = protocols
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	defer stop()
	_ = srv.Serve(ln)
	// Serve returns once the connection is closed, or at once when the gateway closed first: the
	// listener then closes the connection it never handed out.
	_ = ln.Close()
	<-ln.done
	_ = srv.Close()
	return counted.read.Load(), counted.written.Load(), nil
}

// CloseIdleConnections closes the shared upstream transports' idle connections (at shutdown).
func (in *Inspector) CloseIdleConnections() {
	for u := range in.transports {
		for h := range in.transports[u] {
			in.transports[u][h].CloseIdleConnections()
		}
	}
}

// upstream is the tunnel handlers' gateway.UpstreamTransport.
func (in *Inspector) upstream(untrusted, http1 bool) http.RoundTripper {
	u, h := 0, 0
	if untrusted {
		u = 1
	}
	if http1 {
		h = 1
	}
	return in.transports[u][h]
}

// newTransport returns a transport to destinations over TLS: it dials the vetted address of
// the request's tunnel, verifies the certificate for the destination's name (unless untrusted),
// and offers h2 unless http1.
func (in *Inspector) newTransport(untrusted, http1 bool) *http.Transport {
	protos := []string{"h2", "http/1.1"}
	if http1 {
		protos = []string{"http/1.1"}
	}
	return &http.Transport{
		Proxy: nil,
		DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			t := gateway.TunnelFrom(ctx)
			if t == nil || addr != t.Dest.String() {
				return nil, errors.New("inspect: dial without a vetted destination")
			}
			return in.dialUpstream(ctx, t, untrusted, protos)
		},
		ForceAttemptHTTP2:     !http1,
		DisableCompression:    true,
		ResponseHeaderTimeout: in.opts.ResponseHeaderTimeout,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
	}
}

// replayConn replays the ClientHello's bytes before reading the connection.
type replayConn struct {
	net.Conn
	mu     sync.Mutex
	prefix []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}

// CloseWrite passes a half-close through (for spliced tunnels).
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// countingConn counts the bytes read from and written to a connection.
type countingConn struct {
	net.Conn
	read, written atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

// oneConnListener hands out one connection (a *tls.Conn, so that http.Server sees the
// negotiated protocol), then blocks until the connection beneath it is closed (done), so that
// http.Server.Serve returns only when the connection is finished, also after a hijack.
type oneConnListener struct {
	conn   chan net.Conn
	done   chan struct{}
	closed chan struct{}
	once   sync.Once
	addr   net.Addr
}

func newOneConnListener(c net.Conn, done chan struct{}) *oneConnListener {
	l := &oneConnListener{conn: make(chan net.Conn, 1), done: done, closed: make(chan struct{}), addr: c.LocalAddr()}
	l.conn <- c
	return l
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conn:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	select {
	case c := <-l.conn: // never served
		_ = c.Close()
	default:
	}
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return l.addr }

// notifyConn closes done when it is closed.
type notifyConn struct {
	net.Conn
	done chan struct{}
	once sync.Once
}

func (c *notifyConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.done) })
	return err
}

// Metrics are the inspector's Prometheus metrics.
type Metrics struct {
	// Tunnels counts inspected CONNECT tunnels by result: decrypted, spliced (Do Not
	// Inspect), sni-mismatch, not-tls, handshake-failed.
	Tunnels *prometheus.CounterVec
}

// NewMetrics registers the inspector's metrics with reg, with the minter's counters (leaves
// minted, failed mints, cache hits and size).
func NewMetrics(reg prometheus.Registerer, minter *ca.Minter) *Metrics {
	m := &Metrics{Tunnels: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_gateway_inspected_tunnels_total",
		Help: "CONNECT tunnels handed to TLS inspection, by result (decrypted, spliced, sni-mismatch, not-tls, handshake-failed).",
	}, []string{"result"})}
	reg.MustRegister(m.Tunnels)
	if minter != nil {
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_gateway_leaf_mints_total",
				Help: "Leaf certificates minted for inspected server names."}, func() float64 { return float64(minter.Stats().Mints) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_gateway_leaf_mint_failures_total",
				Help: "Leaf certificate mints that failed."}, func() float64 { return float64(minter.Stats().Failed) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_gateway_leaf_cache_hits_total",
				Help: "Leaf certificates served from the cache."}, func() float64 { return float64(minter.Stats().Hits) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_gateway_leaf_cache_entries",
				Help: "Leaf certificates cached now."}, func() float64 { return float64(minter.Stats().Entries) }),
		)
	}
	return m
}
