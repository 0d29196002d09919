package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway/rules"
)

// TunnelAction is what the gateway does with the bytes of a CONNECT tunnel.
type TunnelAction uint8

const (
	// TunnelSplice copies the bytes both ways unread (a blind tunnel; "do not inspect").
	TunnelSplice TunnelAction = iota
	// TunnelIntercept hands the client's side to the Interceptor (TLS inspection).
	TunnelIntercept
)

// Tunnel is one authenticated CONNECT whose destination passed the egress checks.
type Tunnel struct {
	Dest     Destination
	Identity *Identity
	// Addrs are the vetted addresses of Dest: the only ones a connection may go to.
	Addrs  []netip.Addr
	egress *Egress
	g      *Gateway
	e      *entry
	// lineHandler or linePrefix is lineStart's, made once.
	lineOnce    sync.Once
	lineHandler slog.Handler
	linePrefix  []byte
	// destHostPort and destHTTPSHost are Dest as host:port and as an https Host header, made
	// once for the tunnel's decrypted requests (destStrings).
	destOnce      sync.Once
	destHostPort  string
	destHTTPSHost string
}

// destStrings fills destHostPort and destHTTPSHost.
func (t *Tunnel) destStrings() {
	t.destOnce.Do(func() {
		t.destHostPort = t.Dest.String()
		t.destHTTPSHost = hostForHeader(t.Dest, "https")
	})
}

// hostPort is Dest as host:port (Destination.String).
func (t *Tunnel) hostPort() string {
	t.destStrings()
	return t.destHostPort
}

// httpsHost is Dest as the Host header of an https request (without port 443).
func (t *Tunnel) httpsHost() string {
	t.destStrings()
	return t.destHTTPSHost
}

// dstAddr is the first vetted address (the zero address for a tunnel blocked before its
// destination was resolved).
func (t *Tunnel) dstAddr() netip.Addr {
	if len(t.Addrs) == 0 {
		return netip.Addr{}
	}
	return t.Addrs[0]
}

// blockedBeforeResolving reports whether the policies block or redirect every request of a
// CONNECT to d from id whatever its destination address: no rule uses the address (or its
// country), and rules.Policy.BlockedAtConnect says the connect-phase fields decide a block.
func (g *Gateway) blockedBeforeResolving(id *Identity, d Destination) bool {
	pol := g.policy.Load()
	if pol == nil || pol.Rules == nil || d.IsIP() {
		return false
	}
	needs := pol.Rules.Needs()
	if needs.Field("http.conn.dst_ip") || needs.Field("http.dst_ip.geo.country") {
		return false
	}
	st := getEvalState()
	defer putEvalState(st)
	st.fillConnect(pol, id, d, netip.Addr{})
	_, blocked := pol.Rules.BlockedAtConnect(&st.in)
	return blocked
}

// Dial connects to the tunnel's destination, at one of its vetted addresses.
func (t *Tunnel) Dial(ctx context.Context) (net.Conn, error) {
	return t.egress.Dial(ctx, t.Dest, t.Addrs)
}

// TunnelDecider decides, per CONNECT, whether the tunnel is spliced or intercepted. It is called
// once the client is authenticated and the destination vetted, before the client is told the
// tunnel is established. TLS inspection (package gateway/ca, to come) provides one.
type TunnelDecider func(ctx context.Context, t *Tunnel) TunnelAction

// SpliceAll is the TunnelDecider without TLS inspection: every tunnel is spliced.
func SpliceAll(context.Context, *Tunnel) TunnelAction { return TunnelSplice }

// Interceptor takes over a tunnel its TunnelDecider chose to intercept. client is the client's
// connection after "200 Connection established" (bytes the client sent early are replayed
// first); Intercept owns it until it returns (it closes it), dials the destination with
// t.Dial, and may call Splice (for instance after reading the TLS ClientHello). It returns the
// bytes carried from the client and to it.
type Interceptor interface {
	Intercept(ctx context.Context, client net.Conn, t *Tunnel) (up, down int64, err error)
}

// serveConnect serves a CONNECT request.
func (g *Gateway) serveConnect(w http.ResponseWriter, r *http.Request, e *entry) {
	if r.ProtoMajor != 1 {
		e.refuse(http.StatusHTTPVersionNotSupported, "connect-not-http1")
		plainError(w, http.StatusHTTPVersionNotSupported, "CONNECT is served over HTTP/1.1.")
		return
	}
	// A CONNECT request with a body has no defined meaning: whatever follows the head would be
	// read as the tunnel's first bytes by some parsers and as a body by others.
	if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		e.refuse(http.StatusBadRequest, "connect-with-body")
		w.Header().Set("Connection", "close")
		plainError(w, http.StatusBadRequest, "A CONNECT request must not have a body.")
		return
	}
	d, err := ParseAuthority(r.RequestURI, 0)
	if err != nil {
		e.refuse(http.StatusBadRequest, "bad-destination")
		plainError(w, http.StatusBadRequest, "Gatehouse gateway: "+err.Error()+".")
		return
	}
	e.dest = d
	id := g.admit(w, r, e)
	if id == nil {
		return
	}
	select {
	case g.tunnels <- struct{}{}:
		if g.metrics != nil {
			g.metrics.Tunnels.Inc()
			defer g.metrics.Tunnels.Dec()
		}
		defer func() { <-g.tunnels }()
	default:
		e.refuse(http.StatusServiceUnavailable, "too-many-tunnels")
		w.Header().Set("Retry-After", "5")
		plainError(w, http.StatusServiceUnavailable, "The gateway has too many open tunnels; try again shortly.")
		return
	}
	// A tunnel every request of which the policies block is answered without resolving its
	// destination: no lookup of a name that is blocked anyway, and the block page (not a 502)
	// when the name does not resolve (DNS filtering often blocks the same names). Nothing can
	// be dialled through it: it has no vetted address.
	var addrs []netip.Addr
	if !g.blockedBeforeResolving(id, d) {
		vt := g.resolve(w, r, e, d)
		if vt == nil {
			return
		}
		addrs = vt.addrs
	}
	t := &Tunnel{Dest: d, Identity: id, Addrs: addrs, egress: g.egress, g: g, e: e}
	action := g.decide(r.Context(), t)
	if action == TunnelSplice && !g.decideTunnel(w, r, e, t) {
		return
	}
	if action == TunnelIntercept && g.interceptor == nil {
		g.log.ErrorContext(r.Context(), "gateway: a tunnel was to be intercepted but there is no interceptor")
		e.refuse(http.StatusBadGateway, "intercept-unavailable")
		plainError(w, http.StatusBadGateway, "Gatehouse gateway: the connection cannot be inspected right now.")
		return
	}

	var upstream net.Conn
	if action == TunnelSplice {
		ctx, cancel := context.WithTimeout(r.Context(), g.egress.connectTimeout())
		upstream, err = t.Dial(ctx)
		cancel()
		if err != nil {
			g.upstreamError(w, r, err)
			return
		}
		defer upstream.Close()
	}

	client, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		e.refuse(http.StatusInternalServerError, "hijack-failed")
		plainError(w, http.StatusInternalServerError, "Gatehouse gateway: the tunnel could not be opened.")
		return
	}
	defer client.Close()
	_ = client.SetDeadline(time.Time{})
	e.status = http.StatusOK
	if _, err := brw.WriteString("HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		e.refuse(http.StatusOK, "client-gone")
		return
	}
	if err := brw.Flush(); err != nil {
		e.refuse(http.StatusOK, "client-gone")
		return
	}
	// Bytes the client sent right after the CONNECT head are the tunnel's first bytes.
	conn := client
	if n := brw.Reader.Buffered(); n > 0 {
		early, _ := brw.Reader.Peek(n)
		conn = &prefixConn{Conn: client, prefix: append([]byte(nil), early...)}
	}
	if action == TunnelIntercept {
		e.outcome = "intercepted"
		ctx, cancel := context.WithCancel(r.Context())
		defer context.AfterFunc(g.ctx, cancel)()
		e.up, e.down, err = g.interceptor.Intercept(ctx, conn, t)
		if err != nil {
			g.log.DebugContext(r.Context(), "gateway: intercepted tunnel ended", "err", err)
		}
		return
	}
	e.outcome = "tunnel"
	e.up, e.down = splice(conn, upstream, g.tunnelIdle, g.ctx.Done())
}

// decideTunnel applies the policy to a tunnel that is not decrypted, from what is known before
// decryption (connectDecision). A block or redirect is answered 403 to the CONNECT (a browser
// shows no page for it; the JSON body is for API clients). It reports whether the tunnel may
// open.
func (g *Gateway) decideTunnel(w http.ResponseWriter, r *http.Request, e *entry, t *Tunnel) bool {
	pol := g.policy.Load()
	if pol == nil {
		return true
	}
	st := getEvalState()
	defer putEvalState(st)
	st.fillConnect(pol, t.Identity, t.Dest, t.dstAddr())
	e.noteApp(st)
	if pol.Rules == nil {
		return true
	}
	dec := connectDecision(pol.Rules, &st.in)
	e.noteDecision(dec)
	if dec.Action != rules.ActionBlock && dec.Action != rules.ActionRedirect {
		return true
	}
	e.status, e.outcome = http.StatusForbidden, "blocked"
	b := &BlockInfo{Status: http.StatusForbidden, RuleID: dec.RuleID(), RuleName: dec.RuleName(),
		App: e.appName, Site: "https://" + hostForHeader(t.Dest, "https") + "/", RequestID: e.requestID}
	if dec.Rule != nil {
		b.Reason = dec.Rule.RuleSettings.BlockReason
	}
	if t.Identity != nil {
		b.UserEmail = t.Identity.Email
	}
	w.Header().Set("Connection", "close")
	WriteBlock(w, r, b)
	return false
}

// ErrSNIMismatch is returned by DoNotInspect when the ClientHello names another server than the
// CONNECT request: the tunnel must be closed (neither spliced nor inspected).
var ErrSNIMismatch = errors.New("the TLS server name does not match the CONNECT destination")

// DoNotInspect runs the Do Not Inspect (off) rules once the ClientHello's server name (sni,
// "" when the client sent none) is known, and reports whether the tunnel is spliced rather than
// decrypted. A tunnel whose server name differs from its CONNECT destination is refused
// (ErrSNIMismatch): rules judged the destination, and the client would reach another server.
// A destination given as an IP address agrees with an empty server name; a name does not (the
// tunnel is then decrypted, and the leaf names the destination).
func (t *Tunnel) DoNotInspect(sni string) (bool, error) {
	if sni != "" && !strings.EqualFold(strings.TrimSuffix(sni, "."), t.Dest.Host) {
		t.e.reason = "sni-mismatch"
		t.e.outcome = "refused"
		return false, ErrSNIMismatch
	}
	if sni == "" && !t.Dest.IsIP() {
		return false, nil
	}
	return t.offRule(), nil
}

// DoNotInspectPlain runs the Do Not Inspect (off) rules for a tunnel whose first bytes are not
// TLS at all (the interceptor checked that they do not start a TLS record, so no server name
// can follow): it reports whether an off rule matches the CONNECT destination, so that the
// tunnel is spliced rather than refused.
func (t *Tunnel) DoNotInspectPlain() bool { return t.offRule() }

// offRule evaluates the off rules on the CONNECT destination and records the one that matched.
func (t *Tunnel) offRule() bool {
	pol := t.g.policy.Load()
	if pol == nil || pol.Rules == nil || !pol.Rules.Needs().Connect() {
		return false
	}
	st := getEvalState()
	defer putEvalState(st)
	st.fillConnect(pol, t.Identity, t.Dest, t.dstAddr())
	dec, ok := pol.Rules.EvaluateConnect(&st.in)
	if !ok {
		return false
	}
	t.e.noteApp(st)
	t.e.noteDecision(dec)
	return true
}

// Refuse records that the interceptor ended the tunnel without carrying it (reason is
// kebab-case: "not-tls", "client-handshake-failed", ...).
func (t *Tunnel) Refuse(reason string) { t.e.outcome, t.e.reason = "refused", reason }

// Splice dials the destination and copies bytes between it and client until both directions
// end (as for a tunnel that is not inspected); it returns the bytes carried each way.
func (t *Tunnel) Splice(ctx context.Context, client net.Conn) (up, down int64, err error) {
	dctx, cancel := context.WithTimeout(ctx, t.egress.connectTimeout())
	upstream, err := t.Dial(dctx)
	cancel()
	if err != nil {
		t.e.reason = "upstream-error"
		return 0, 0, err
	}
	defer upstream.Close()
	t.e.outcome = "tunnel"
	up, down = splice(client, upstream, t.g.tunnelIdle, t.g.ctx.Done())
	return up, down, nil
}

// prefixConn replays bytes read ahead of a connection before reading it.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite passes a half-close through to the connection beneath.
func (c *prefixConn) CloseWrite() error { return closeWrite(c.Conn) }

var spliceBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// Splice copies bytes between client and upstream in both directions until both directions
// end, or neither carried a byte for idle. A direction that ends half-closes the other side
// where the connection allows it. It returns the bytes copied from the client (up) and to it
// (down); it does not close the connections.
func Splice(client, upstream net.Conn, idle time.Duration) (up, down int64) {
	return splice(client, upstream, idle, nil)
}

// splice is Splice that also ends when stop is closed (the gateway shuts down).
func splice(client, upstream net.Conn, idle time.Duration, stop <-chan struct{}) (up, down int64) {
	var activity activityClock
	activity.touch()
	done := make(chan struct{})
	defer close(done)
	stopWatch := make(chan struct{})
	go func() {
		defer close(stopWatch)
		t := time.NewTicker(idleCheckInterval(idle))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-stop:
				now := time.Now()
				_ = client.SetReadDeadline(now)
				_ = upstream.SetReadDeadline(now)
				return
			case <-t.C:
				if activity.since() >= idle {
					// Unblock both copies; they end with errors.
					now := time.Now()
					_ = client.SetReadDeadline(now)
					_ = upstream.SetReadDeadline(now)
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		down = copyActive(client, upstream, &activity)
		_ = closeWrite(client)
	}()
	up = copyActive(upstream, client, &activity)
	_ = closeWrite(upstream)
	wg.Wait()
	return up, down
}

func idleCheckInterval(idle time.Duration) time.Duration {
	return max(min(idle/4, 10*time.Second), 10*time.Millisecond)
}

// activityClock is the time of the last byte through a tunnel.
type activityClock struct {
	mu   sync.Mutex
	last time.Time
}

func (a *activityClock) touch() {
	a.mu.Lock()
	a.last = time.Now()
	a.mu.Unlock()
}

func (a *activityClock) since() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return time.Since(a.last)
}

// copyActive copies src to dst, noting activity.
func copyActive(dst io.Writer, src io.Reader, a *activityClock) int64 {
	bp := spliceBuffers.Get().(*[]byte)
	defer spliceBuffers.Put(bp)
	buf := *bp
	var n int64
	for {
		nr, rerr := src.Read(buf)
		if nr > 0 {
			a.touch()
			nw, werr := dst.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n
			}
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				// A reset or the idle deadline: end the other direction too.
				if c, ok := dst.(net.Conn); ok {
					_ = c.SetReadDeadline(time.Now())
				}
			}
			return n
		}
	}
}

func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
