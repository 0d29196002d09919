package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/ai"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/rules"
	"github.com/gatehouse/gatehouse/internal/gateway/upload"
	"github.com/gatehouse/gatehouse/internal/snapshot"
)

// Options configure a Gateway. Egress is required; everything else has a default.
type Options struct {
	// Egress vets and dials destinations.
	Egress *Egress
	// Locations are gateway.locations.
	Locations []Location
	// MaxTunnels bounds the CONNECT tunnels open at once; default 4096.
	MaxTunnels int
	// TunnelIdleTimeout closes a tunnel idle in both directions for this long; default 1h.
	TunnelIdleTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for a destination's response headers to a plain
	// HTTP request; default 2m.
	ResponseHeaderTimeout time.Duration
	// Decide chooses, per CONNECT, between splicing the tunnel and TLS inspection; default:
	// always splice. Intercept needs an Interceptor.
	Decide TunnelDecider
	// Interceptor takes over the tunnels Decide sends to TLS inspection.
	Interceptor Interceptor
	// Policy is the HTTP policy enforced from the start (see SetPolicy); nil allows everything.
	Policy *Policy
	// Uploads scans request bodies for the body-phase rules (DLP, file types, sizes); nil: a
	// request a body rule could block is blocked (fail closed).
	Uploads *upload.Scanner
	// Prompts reads and classifies the prompts of requests to AI applications for the body
	// phase (AI prompt profiles in dlp.profiles); nil: prompts are not read.
	Prompts *ai.PromptInspector
	// PromptLog keeps the prompts a deciding rule captures (rule_settings.payload_log);
	// nil: none are kept.
	PromptLog PromptLogger
	// Devices checks per-device credentials; nil accepts service tokens only.
	Devices DeviceVerifier
	// RateLimit bounds the refused credentials audited per client address (store.Store).
	RateLimit RateLimiter
	// Audit records refused credentials.
	Audit *audit.Recorder
	// Events, when set, receives an Event for every request and tunnel (Shadow-AI discovery).
	Events EventSink
	// Metrics, when set, counts requests, refusals and open tunnels.
	Metrics *Metrics
	Log     *slog.Logger
	// RequestLines, when set, is the writer of Log's handler, which must be slog's
	// JSONHandler without ReplaceAttr or AddSource: the gateway then encodes its per-request
	// lines ("gateway request") itself and writes them there, the same bytes in about half the
	// time. Log still decides whether a line is written (its level). Each line is one Write.
	RequestLines io.Writer
	Now          func() time.Time
}

// Gateway is the forward proxy served on listen.gateway.
type Gateway struct {
	snaps       *snapshot.Holder
	egress      *Egress
	locations   locationTable
	tunnels     chan struct{}
	active      activeTunnels
	tunnelIdle  time.Duration
	decide      TunnelDecider
	interceptor Interceptor
	devices     DeviceVerifier
	limiter     RateLimiter
	audit       *audit.Recorder
	metrics     *Metrics
	log         *slog.Logger
	lines       io.Writer
	now         func() time.Time
	rp          *httputil.ReverseProxy
	// apps is the application library, for the log line's application (nil when the embedded
	// catalogue does not load, which its tests rule out).
	apps   *applib.Catalog
	events EventSink
	// irp forwards the requests decrypted from inspected tunnels.
	irp       *httputil.ReverseProxy
	policy    atomic.Pointer[Policy]
	uploads   *upload.Scanner
	prompts   *ai.PromptInspector
	promptLog PromptLogger
	// ctx ends when the gateway is closed, ending every tunnel.
	ctx   context.Context
	close context.CancelFunc
}

// New builds a gateway that reads service tokens and the organisation from snaps.
func New(snaps *snapshot.Holder, opts Options) *Gateway {
	if opts.Egress == nil {
		panic("gateway: Options.Egress is required")
	}
	if opts.MaxTunnels <= 0 {
		opts.MaxTunnels = 4096
	}
	if opts.TunnelIdleTimeout <= 0 {
		opts.TunnelIdleTimeout = time.Hour
	}
	if opts.ResponseHeaderTimeout <= 0 {
		opts.ResponseHeaderTimeout = 2 * time.Minute
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Decide == nil {
		opts.Decide = SpliceAll
	}
	g := &Gateway{snaps: snaps, egress: opts.Egress, locations: newLocationTable(opts.Locations),
		tunnels: make(chan struct{}, opts.MaxTunnels), tunnelIdle: opts.TunnelIdleTimeout,
		decide: opts.Decide, interceptor: opts.Interceptor, devices: opts.Devices, limiter: opts.RateLimit,
		audit: opts.Audit, metrics: opts.Metrics, log: opts.Log, now: opts.Now, events: opts.Events, lines: opts.RequestLines}
	g.apps, _ = applib.Default()
	g.ctx, g.close = context.WithCancel(context.Background())
	g.policy.Store(opts.Policy)
	g.uploads = opts.Uploads
	g.prompts, g.promptLog = opts.Prompts, opts.PromptLog
	g.rp = &httputil.ReverseProxy{
		Rewrite:        rewrite,
		Transport:      g.newTransport(opts.ResponseHeaderTimeout),
		ModifyResponse: g.checkResponse,
		ErrorHandler:   g.upstreamError,
		ErrorLog:       slog.NewLogLogger(opts.Log.Handler(), slog.LevelWarn),
		BufferPool:     copyBuffers{},
	}
	g.irp = &httputil.ReverseProxy{
		Rewrite:        rewriteInspected,
		Transport:      inspectedTransport{},
		ModifyResponse: g.checkResponse,
		ErrorHandler:   g.inspectedError,
		ErrorLog:       slog.NewLogLogger(opts.Log.Handler(), slog.LevelWarn),
		BufferPool:     copyBuffers{},
	}
	return g
}

// copyBuffers lends the reverse proxies the splice buffers (32 KiB) for copying bodies.
type copyBuffers struct{}

func (copyBuffers) Get() []byte  { return *spliceBuffers.Get().(*[]byte) }
func (copyBuffers) Put(b []byte) { spliceBuffers.Put(&b) }

// Close ends every open tunnel without waiting for them (see Shutdown).
func (g *Gateway) Close() { g.close() }

// Egress returns the gateway's egress policy (the composition root tells it the listeners).
func (g *Gateway) Egress() *Egress { return g.egress }

// target is a vetted destination, carried in the request context from the decision to the
// transport's dialer.
type target struct {
	dest  Destination
	addrs []netip.Addr
}

type targetKey struct{}

func (g *Gateway) newTransport(responseHeaderTimeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy: nil,
		// Dial exactly the addresses vetted for this request: never resolve again.
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			t, ok := ctx.Value(targetKey{}).(*target)
			if !ok || addr != t.dest.String() {
				return nil, errors.New("gateway: dial without a vetted destination")
			}
			return g.egress.Dial(ctx, t.dest, t.addrs)
		},
		// The client's Accept-Encoding goes through as it is, and the body comes back as sent.
		DisableCompression:    true,
		ResponseHeaderTimeout: responseHeaderTimeout,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
	}
}

// ServeHTTP serves one request on the gateway listener: an absolute-form HTTP request to
// forward, a CONNECT tunnel, or (origin-form) the PAC file.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := &entry{start: time.Now(), method: r.Method, client: clientIP(r), requestID: newRequestID()}
	rec := &recorder{ResponseWriter: w, entry: e}
	tunnel := false
	defer func() {
		g.logEntry(r.Context(), e, rec)
		if tunnel {
			// After the log line and the usage event: Shutdown waits for them.
			g.active.leave()
		}
	}()
	switch {
	case r.Method == http.MethodConnect:
		e.kind = "connect"
		if !g.active.enter() {
			e.refuse(http.StatusServiceUnavailable, "shutting-down")
			plainError(rec, http.StatusServiceUnavailable, "The gateway is shutting down; try again shortly.")
			return
		}
		tunnel = true
		g.serveConnect(rec, r, e)
	case r.URL.IsAbs():
		e.kind = "http"
		g.serveForward(rec, r, e)
	default:
		e.kind = "local"
		g.serveOrigin(rec, r, e)
	}
}

// clientIP is the TCP peer: clients connect to the gateway directly, so no forwarded header is
// ever believed.
func clientIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// admit authenticates the request. It answers the refusal itself and returns nil when the
// request must not go on.
func (g *Gateway) admit(w http.ResponseWriter, r *http.Request, e *entry) *Identity {
	snap := g.snaps.Load()
	if snap == nil {
		e.refuse(http.StatusServiceUnavailable, "config-unavailable")
		plainError(w, http.StatusServiceUnavailable, "The gateway is starting; try again shortly.")
		return nil
	}
	id, reason, err := g.authenticate(r.Context(), snap, r.Header.Values("Proxy-Authorization"))
	if err != nil {
		g.log.ErrorContext(r.Context(), "gateway: credentials could not be checked", "err", err)
		e.refuse(http.StatusServiceUnavailable, reason)
		plainError(w, http.StatusServiceUnavailable, "Proxy credentials cannot be checked right now; try again shortly.")
		return nil
	}
	if id == nil {
		e.refuse(http.StatusProxyAuthRequired, reason)
		if reason != ReasonCredentialsMissing && !g.auditAuthFailure(r.Context(), e.client, reason) {
			e.refuse(http.StatusTooManyRequests, "rate-limited")
			w.Header().Set("Retry-After", "60")
			plainError(w, http.StatusTooManyRequests, "Too many failed proxy authentications; try again later.")
			return nil
		}
		w.Header().Set("Proxy-Authenticate", `Basic realm="Gatehouse Gateway"`)
		msg := "Proxy authentication required: send Proxy-Authorization: Basic with your device credentials or a service token's client_id:client_secret."
		if reason != ReasonCredentialsMissing {
			msg = "The proxy credentials were not accepted."
		}
		plainError(w, http.StatusProxyAuthRequired, msg)
		return nil
	}
	id.ClientIP = e.client
	id.Location = g.locations.lookup(e.client)
	e.id = id
	return id
}

// resolve vets the destination; it answers the refusal itself and returns nil when the request
// must not go on.
func (g *Gateway) resolve(w http.ResponseWriter, r *http.Request, e *entry, d Destination) *target {
	ctx, cancel := context.WithTimeout(r.Context(), g.egress.connectTimeout())
	defer cancel()
	addrs, err := g.egress.Resolve(ctx, d)
	if err == nil {
		return &target{dest: d, addrs: addrs}
	}
	var refused *RefusedError
	switch {
	case errors.As(err, &refused):
		e.refuse(http.StatusForbidden, refused.Reason)
		plainError(w, http.StatusForbidden, "Gatehouse gateway: "+refused.Error()+".")
	case errors.Is(err, ErrUnresolvable):
		e.refuse(http.StatusBadGateway, "destination-unresolvable")
		plainError(w, http.StatusBadGateway, "Gatehouse gateway: "+d.Host+" could not be resolved.")
	default:
		e.refuse(http.StatusBadGateway, "destination-error")
		plainError(w, http.StatusBadGateway, "Gatehouse gateway: the destination could not be reached.")
	}
	return nil
}

// serveForward forwards an absolute-form HTTP request.
func (g *Gateway) serveForward(w http.ResponseWriter, r *http.Request, e *entry) {
	if r.URL.Scheme != "http" {
		e.refuse(http.StatusBadRequest, "unsupported-scheme")
		plainError(w, http.StatusBadRequest, "Only http:// URLs are forwarded; use CONNECT for https.")
		return
	}
	d, err := ParseAuthority(r.URL.Host, 80)
	if err != nil || r.URL.User != nil {
		e.refuse(http.StatusBadRequest, "bad-destination")
		plainError(w, http.StatusBadRequest, "Gatehouse gateway: "+errorText(err, "user information is not allowed in a URL")+".")
		return
	}
	e.dest = d
	id := g.admit(w, r, e)
	if id == nil {
		return
	}
	t := g.resolve(w, r, e, d)
	if t == nil {
		return
	}
	ctx := context.WithValue(r.Context(), targetKey{}, t)
	if pol := g.policy.Load(); pol != nil {
		st := getEvalState()
		defer putEvalState(st)
		site := fullURL("http", d, r)
		rc, ok := g.decideRequest(w, r, e, pol, st, id, d, t.addrs[0], site)
		if !ok {
			return
		}
		if rc != nil {
			ctx = context.WithValue(ctx, responseCheckKey{}, rc)
		}
	}
	g.forward(g.rp, w, r.WithContext(ctx), e)
}

// forward sends an allowed request on through rp, counting the bytes of its body.
func (g *Gateway) forward(rp *httputil.ReverseProxy, w http.ResponseWriter, r *http.Request, e *entry) {
	e.outcome = "forwarded"
	body := &countingReader{rc: r.Body}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = body
	}
	rp.ServeHTTP(w, r)
	e.up = body.n
}

// responseCheck carries what the response phase needs from the request phase.
type responseCheck struct {
	pol  *Policy
	st   *evalState
	e    *entry
	site string
	// d is the response-phase decision that blocked the response.
	d rules.Decision
	// evaluate: response-phase rules exist (else the check only tees a captured prompt's
	// answer).
	evaluate bool
}

type responseCheckKey struct{}

// errResponseBlocked ends a forwarded request whose response a rule blocked.
var errResponseBlocked = errors.New("gateway: response blocked by policy")

// decideRequest evaluates the request phase of pol for a request to d and acts on it: blocks
// and redirects are answered here (ok false). Allowed requests get the rule's add_headers; rc
// is set when response-phase rules must see the response.
func (g *Gateway) decideRequest(w http.ResponseWriter, r *http.Request, e *entry, pol *Policy, st *evalState,
	id *Identity, d Destination, dst netip.Addr, site string) (rc *responseCheck, ok bool) {
	st.fillConnect(pol, id, d, dst)
	st.fillRequest(pol, r, site)
	e.noteApp(st)
	e.category = st.category(pol)
	if pol.Rules == nil {
		e.action = rules.ActionAllow
		return nil, true
	}
	dec := pol.Rules.EvaluateRequest(&st.in)
	e.noteDecision(dec)
	if !g.enforce(w, r, e, dec, site) {
		return nil, false
	}
	applyAddHeaders(r.Header, dec)
	if !g.checkUpload(w, r, e, pol, st, site) {
		return nil, false
	}
	if evaluate := pol.Rules.Needs().Phase(rules.PhaseResponse); evaluate || e.capture != nil {
		rc = &responseCheck{pol: pol, st: st, e: e, site: site, evaluate: evaluate}
	}
	return rc, true
}

// checkResponse runs the response-phase rules (ReverseProxy.ModifyResponse): a block or
// redirect there replaces the response.
func (g *Gateway) checkResponse(resp *http.Response) error {
	rc, ok := resp.Request.Context().Value(responseCheckKey{}).(*responseCheck)
	if !ok {
		return nil
	}
	if c := rc.e.capture; c != nil {
		g.teeAnswer(c, resp)
	}
	if !rc.evaluate {
		return nil
	}
	rc.st.in.ResponseStatus = resp.StatusCode
	d := rc.pol.Rules.EvaluateResponse(&rc.st.in)
	if !d.Matched() || d.Action == rules.ActionAllow {
		return nil
	}
	rc.d = d
	rc.e.noteDecision(d)
	return errResponseBlocked
}

// blockedResponse answers a request whose response a rule blocked; it reports false when err is
// something else.
func (g *Gateway) blockedResponse(w http.ResponseWriter, r *http.Request, err error) bool {
	if !errors.Is(err, errResponseBlocked) {
		return false
	}
	rc := r.Context().Value(responseCheckKey{}).(*responseCheck)
	g.enforce(w, r, rc.e, rc.d, rc.site)
	return true
}

// rewrite builds the outgoing request: the canonical destination (never the client's Host
// header), the client's path and query. httputil.ReverseProxy has removed the hop-by-hop
// headers, those the Connection header lists and Proxy-Authorization, and adds no
// X-Forwarded-For: the client's address is not the destination's business.
func rewrite(pr *httputil.ProxyRequest) {
	t := pr.In.Context().Value(targetKey{}).(*target)
	host := t.dest.String()
	if t.dest.Port == 80 { // the default port is left out of Host, as clients do
		host = t.dest.Host
		if isIPv6(host) {
			host = "[" + host + "]"
		}
	}
	pr.Out.URL = &url.URL{Scheme: "http", Host: t.dest.String(), Path: pr.In.URL.Path, RawPath: pr.In.URL.RawPath,
		RawQuery: pr.In.URL.RawQuery}
	pr.Out.Host = host
}

func isIPv6(h string) bool {
	if strings.IndexByte(h, ':') < 0 { // every IPv6 address has one, no name or IPv4 address does
		return false
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Is6()
}

func (g *Gateway) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if g.blockedResponse(w, r, err) {
		return
	}
	status, msg := http.StatusBadGateway, "Gatehouse gateway: the destination could not be reached."
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		status, msg = http.StatusGatewayTimeout, "Gatehouse gateway: the destination did not answer in time."
	}
	reason := "upstream-error"
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		status, reason = 499, "client-gone" // nothing is written: nobody reads it
	}
	g.log.DebugContext(r.Context(), "gateway: upstream error", "err", err)
	if rec, ok := w.(*recorder); ok && rec.entry != nil {
		rec.entry.refuse(status, reason)
	}
	if status != 499 {
		plainError(w, status, msg)
	}
}

func errorText(err error, fallback string) string {
	if err != nil {
		return err.Error()
	}
	return fallback
}

// plainError answers a short text/plain error; msg never holds internal error text.
func plainError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}
