// Package proxy owns the identity-aware reverse proxy: for every request to a protected host it
// normalises the path once, routes to the most specific application, authorises the request
// (bypass and service auth, app cookie through the verified-token cache, revocation, policy) on
// the in-memory snapshot, and forwards exactly the normalised request with Gatehouse's identity
// headers, after removing every client-supplied copy of them.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/connguard"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/web"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// Options tune the proxy.
type Options struct {
	MaxRequestBodyBytes int64
	UpstreamTimeout     time.Duration
	// StripRequestHeaders are header names (wire.HeaderSet entries) removed from every request
	// before it reaches an application, besides wire.ClientHeaders. They must be valid
	// (wire.ValidateHeaderPattern): New panics otherwise.
	StripRequestHeaders []string
	// Transport carries requests to the applications; default NewTransport(UpstreamTimeout).
	Transport http.RoundTripper
	// Prompts reads and classifies the prompts of applications with prompt_protection
	// enabled; without it every request to such an application is one whose prompt cannot be
	// read (the application's fail_mode decides).
	Prompts PromptInspector
	// PromptLog keeps the prompts prompt_protection.log_prompts captures; nil captures none.
	PromptLog PromptLogger
	// MaxPromptBodyBytes bounds the request body read to inspect a prompt; default
	// DefaultMaxPromptBodyBytes. A larger body cannot be inspected (fail_mode decides).
	MaxPromptBodyBytes int64
}

// Login is what the proxy needs of the login flow; the composition root wires the login
// service into it. The proxy never imports the login flow itself.
type Login interface {
	// StartAppLogin sends a browser without a session to log in for app and come back to
	// redirectPath (the normalised path and query it asked for) on host. reasons say precisely
	// why a login is needed (Result.Reasons: "identity-required", with the reason a presented
	// token was refused, such as "token-expired" or "session-revoked"), for the auth log.
	StartAppLogin(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, host, redirectPath string, reasons []string)
	// ServeAppEndpoint serves a reserved endpoint under the wire prefix on an app host (login
	// hand-off, certs, get-identity, logout); app is nil when no application covers the host.
	ServeAppEndpoint(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, host, endpoint string)
	// Deny renders the block page of a decision (or redirects to the app's custom deny URL);
	// nonIdentity says the request was refused before any identity was considered. d.Reasons
	// are the precise reasons (Result.Reasons). ref is the reference ID the proxy's access log
	// line carries for this request: the page shows it, so that a user's report leads to the
	// reasons.
	Deny(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, id *identity.Identity, d policy.Decision, nonIdentity bool, ref string)
}

// Proxy serves every public request that is not for the auth domain.
type Proxy struct {
	snaps    *snapshot.Holder
	login    Login
	sessions *session.Verifier
	keys     *keys.Manager
	metrics  *Metrics
	log      *slog.Logger
	now      func() time.Time
	opts     Options
	rp       *httputil.ReverseProxy
	// strip holds the client headers removed before forwarding: wire.ClientHeaders and the
	// operator's StripRequestHeaders.
	strip *wire.HeaderSet

	serviceJWTs sync.Map // serviceJWTKey -> *serviceJWT
}

// New builds a proxy. sessions verifies app tokens; keys signs service-token JWTs.
func New(snaps *snapshot.Holder, login Login, sessions *session.Verifier, km *keys.Manager, m *Metrics, log *slog.Logger, now func() time.Time, opts Options) *Proxy {
	if opts.UpstreamTimeout == 0 {
		opts.UpstreamTimeout = 60 * time.Second
	}
	if now == nil {
		now = time.Now
	}
	strip, err := wire.ClientHeaders.With(opts.StripRequestHeaders...)
	if err != nil {
		panic("proxy: invalid StripRequestHeaders: " + err.Error())
	}
	p := &Proxy{snaps: snaps, login: login, sessions: sessions, keys: km, metrics: m, log: log, now: now, opts: opts, strip: strip}
	transport := opts.Transport
	if transport == nil {
		transport = NewTransport(opts.UpstreamTimeout)
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		BufferPool:     copyBuffers{},
		Transport:      transport,
		ModifyResponse: p.checkResponse,
		ErrorHandler:   p.upstreamError,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return p
}

// copyBuffers recycles the 32 KiB buffers ReverseProxy copies bodies through, instead of
// allocating one per request.
type copyBuffers struct{}

var copyBufferPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (copyBuffers) Get() []byte  { return *copyBufferPool.Get().(*[]byte) }
func (copyBuffers) Put(b []byte) { copyBufferPool.Put(&b) }

// NewTransport is the upstream transport: pooled keep-alive connections, HTTP/2 when the origin
// offers it over TLS, and bounded dial and header timeouts.
func NewTransport(responseHeaderTimeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 nil, // never route origin traffic through an environment proxy
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
	}
}

// Outcome is what the authorization step decided.
type Outcome uint8

// Outcomes.
const (
	OutcomeForward         Outcome = iota // forward to the upstream
	OutcomeLogin                          // redirect the browser to log in
	OutcomeUnauthorized                   // 401: not logged in and not a browser navigation
	OutcomeDenyIdentity                   // 403 after login
	OutcomeDenyNonIdentity                // 403 before login (IP, country, service token)
	OutcomeUnavailable                    // 503: the store was needed and is unreachable
)

// Result is the outcome of Authorize.
type Result struct {
	Outcome  Outcome
	Decision policy.Decision
	Identity *identity.Identity
	// Token is the JWT to forward (app token or service-token JWT); empty for bypass.
	Token string
	Email string
	// ServiceTokenID is set when a service token authorised the request.
	ServiceTokenID string
	// CredentialReason says why the app token the request presented (cookie or token header)
	// was refused, as session.Reason gives it ("token-expired", "token-bad-signature",
	// "token-audience-mismatch", "session-revoked", "user-tokens-revoked", ...); "" when none was
	// presented or it was accepted.
	CredentialReason string
	Err              error
}

// Reasons returns the precise reasons of the result: the decision's reasons, then
// CredentialReason when set. The slice may be shared with the decision: do not modify it.
func (r *Result) Reasons() []string {
	if r.CredentialReason == "" {
		return r.Decision.Reasons
	}
	out := make([]string, 0, len(r.Decision.Reasons)+1)
	out = append(out, r.Decision.Reasons...)
	return append(out, r.CredentialReason)
}

// Request is what Authorize needs of a request, parsed once by ServeHTTP.
type Request struct {
	App      *snapshot.App
	ClientIP netip.Addr
	Country  string
	// Credential is the app token from the cookie or token header, "" if none.
	Credential string
	// ClientID and ClientSecret are service-token headers, "" if absent.
	ClientID, ClientSecret string
}

// Authorize decides a request. It touches the store only on the first sight of an app token on
// this replica (to load the session's identity), then serves from the verified-token cache.
// When the app token is refused, the request is decided as one without it and the result says
// why the token was refused (CredentialReason).
func (p *Proxy) Authorize(ctx context.Context, snap *snapshot.Snapshot, req *Request) Result {
	app := req.App
	in := policy.Input{ClientIP: req.ClientIP, Country: req.Country}
	var st serviceTokenInput
	if req.ClientID != "" || req.ClientSecret != "" {
		st = p.checkServiceToken(snap, req.ClientID, req.ClientSecret)
		in.ServiceToken = &st.ServiceTokenInput
	}
	credentialReason := ""
	if req.Credential != "" {
		_, ident, err := p.sessions.AppToken(ctx, req.Credential, app.AUD, app.ID)
		switch {
		case err == nil:
			in.Identity = ident
			d := app.Policies.Evaluate(&in)
			switch d.Action {
			case policy.ActionAllow:
				return Result{Outcome: OutcomeForward, Decision: d, Identity: in.Identity, Token: req.Credential, Email: in.Identity.Email}
			case policy.ActionBypass:
				return Result{Outcome: OutcomeForward, Decision: d}
			case policy.ActionServiceAuth:
				return p.serviceAuth(snap, app, d, st)
			}
			// Denied: blame the request's non-identity attributes if no identity could pass.
			in.Identity = nil
			if pre := app.Policies.Preflight(&in); pre.Action == policy.ActionDeny {
				return Result{Outcome: OutcomeDenyNonIdentity, Decision: pre}
			}
			return Result{Outcome: OutcomeDenyIdentity, Decision: d, Identity: ident}
		case !session.IsNoSession(err):
			return Result{Outcome: OutcomeUnavailable, Err: err}
		}
		// An invalid, expired or revoked token is as good as none; say why it was refused.
		credentialReason = session.Reason(err)
	}
	d := app.Policies.Preflight(&in)
	var res Result
	switch d.Action {
	case policy.ActionBypass:
		res = Result{Outcome: OutcomeForward, Decision: d}
	case policy.ActionServiceAuth:
		res = p.serviceAuth(snap, app, d, st)
	case policy.ActionDeny:
		res = Result{Outcome: OutcomeDenyNonIdentity, Decision: d}
	default:
		res = Result{Outcome: OutcomeLogin, Decision: d}
		if in.ServiceToken != nil && app.ServiceAuth401Redirect {
			res.Outcome = OutcomeUnauthorized
		}
	}
	res.CredentialReason = credentialReason
	return res
}

// ServeHTTP serves a request for an app host.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	snap := p.snaps.Load()
	rec := &responseRecorder{ResponseWriter: w, status: http.StatusOK}
	line := accessLine{host: httpx.NormalizeHost(r.Host), path: r.URL.Path, method: r.Method}
	defer func() { p.logRequest(r, rec, &line, start) }()
	if err := p.serve(rec, r, snap, &line); err != nil {
		he := httpx.AsError(err)
		if he.Ref == "" {
			he.Ref = httpx.NewRequestID()
		}
		line.reasons, line.ref, line.refused = []string{he.Reason}, he.Ref, true
		web.RenderBrandedError(rec, r, p.log, web.BrandOf(&snap.Org), he)
	}
}

// serve routes, authorises and answers one request; an error it returns is rendered by
// ServeHTTP, the one error adapter of the proxy.
func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, line *accessLine) error {
	host := line.host
	path, err := httpx.NormalizePath(r.URL.EscapedPath())
	if err != nil {
		return httpx.Errorf(http.StatusBadRequest, "ambiguous-path", "The request path is not allowed.", err)
	}
	line.path = path
	appID, ok, ambiguous := snap.Routes.Resolve(host, path)
	var app *snapshot.App
	if ok {
		app = snap.Apps[appID]
		line.app = appID
	}
	if strings.HasPrefix(path, snap.Profile.Prefix) {
		p.login.ServeAppEndpoint(w, r, snap, app, host, strings.TrimPrefix(path, snap.Profile.Prefix))
		return nil
	}
	if ambiguous != nil {
		return httpx.Errorf(http.StatusBadRequest, "ambiguous-path", "The request path is not allowed.", ambiguous)
	}
	if app == nil {
		if snap.Org.DenyUnmatchedRequests {
			return httpx.Errorf(http.StatusForbidden, "unmatched-request-denied", "No application is configured at this address.", nil)
		}
		return httpx.Errorf(http.StatusNotFound, "no-application", "No application is configured at this address.", nil)
	}
	client := httpx.ClientOf(r)
	if r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		if app.CORSHeaders != nil {
			line.reasons = []string{"cors-preflight-answered"}
			answerPreflight(w, r, app.CORSHeaders)
			return nil
		}
		if app.OptionsPreflightBypass {
			line.reasons = []string{"cors-preflight-bypass"}
			p.forward(w, r, app, path, Result{}, snap, client, line)
			return nil
		}
	}
	req := Request{App: app, ClientIP: client.IP, Country: client.Country,
		ClientID: r.Header.Get(snap.Profile.ClientIDHeader), ClientSecret: r.Header.Get(snap.Profile.ClientSecretHeader)}
	if c, err := r.Cookie(snap.AppCookie()); err == nil {
		req.Credential = c.Value
	} else if h := r.Header.Get(snap.Profile.TokenHeader); h != "" {
		req.Credential = h
	}
	res := p.Authorize(r.Context(), snap, &req)
	line.result = &res
	if app.CORSHeaders != nil {
		setCORSHeaders(w.Header(), r, app.CORSHeaders)
	}
	switch res.Outcome {
	case OutcomeForward:
		p.forward(w, r, app, path, res, snap, client, line)
	case OutcomeLogin:
		if httpx.WantsHTML(r) {
			redirect := path
			if r.URL.RawQuery != "" {
				redirect += "?" + r.URL.RawQuery
			}
			p.login.StartAppLogin(w, r, snap, app, host, redirect, res.Reasons())
			return nil
		}
		unauthorized(w)
	case OutcomeUnauthorized:
		unauthorized(w)
	case OutcomeDenyIdentity, OutcomeDenyNonIdentity:
		d := res.Decision
		d.Reasons = res.Reasons()
		line.ref = httpx.NewRequestID()
		p.login.Deny(w, r, snap, app, res.Identity, d, res.Outcome == OutcomeDenyNonIdentity, line.ref)
	case OutcomeUnavailable:
		return httpx.Errorf(http.StatusServiceUnavailable, "store-unavailable", "Gatehouse cannot check your session right now. Try again shortly.", res.Err)
	}
	return nil
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`{"error":"unauthorized","message":"Authentication required."}` + "\n"))
}

type targetKey struct{}

type forwardTarget struct {
	upstream *url.URL
	path     string // normalised escaped path
	res      Result
	profile  *wire.Profile
	// identityHeaders are the folded names of the headers IdPs send to origins (snapshot).
	identityHeaders map[string]bool
	client          httpx.Client
	scheme          string
	// websocketKey is the Sec-WebSocket-Key of a WebSocket handshake being forwarded, "" for
	// every other request; upgradeOffered says the request offered an upgrade, taken or not.
	websocketKey   string
	upgradeOffered bool
	// failure, failureRef and refused are what an upstream error recorded for the access log
	// (the reason, the error page's reference, whether the request counts as refused).
	failure, failureRef string
	refused             bool
	// prompt is the prompt being captured (prompt_protection.log_prompts), nil for others.
	prompt *promptCapture
}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, app *snapshot.App, path string, res Result, snap *snapshot.Snapshot, client httpx.Client, line *accessLine) {
	if err := p.forwardRequest(w, r, app, path, res, snap, client, line); err != nil {
		he := httpx.AsError(err)
		he.Ref = httpx.NewRequestID()
		line.reasons = append(line.reasons, he.Reason)
		line.ref, line.refused = he.Ref, true
		web.RenderBrandedError(w, r, p.log, web.BrandOf(&snap.Org), he)
	}
}

// forwardRequest checks what the request asks of the connection (method, upgrade, body size),
// then streams it to the application.
func (p *Proxy) forwardRequest(w http.ResponseWriter, r *http.Request, app *snapshot.App, path string, res Result, snap *snapshot.Snapshot, client httpx.Client, line *accessLine) error {
	if r.Method == http.MethodConnect {
		// Tunnels to arbitrary destinations are the gateway's business, never an application's.
		w.Header().Set("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
		return httpx.Errorf(http.StatusMethodNotAllowed, "connect-refused", "This address does not accept CONNECT requests.", nil)
	}
	websocketKey, offered, err := prepareUpgrade(r)
	if err != nil {
		w.Header().Set("Connection", "close")
		return err
	}
	if websocketKey != "" {
		// The handler in front may have asked to close a connection that offers an upgrade;
		// a 101 must not carry that (checkResponse and upstreamError ask again on failure).
		w.Header().Del("Connection")
	}
	if limit := p.opts.MaxRequestBodyBytes; limit > 0 && r.Body != nil {
		if r.ContentLength > limit {
			// Refused before the application is contacted; the body is not read, so the
			// connection cannot carry another request.
			w.Header().Set("Connection", "close")
			return httpx.Errorf(http.StatusRequestEntityTooLarge, "request-body-too-large", "The request body is too large.",
				fmt.Errorf("Content-Length %d exceeds limits.max_request_body_bytes (%d)", r.ContentLength, limit))
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	var capture *promptCapture
	if pp := app.PromptProtection; pp != nil && pp.Enabled && websocketKey == "" {
		var done bool
		capture, done, err = p.protectPrompt(w, r, app, path, res, client, line)
		if err != nil || done {
			return err
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	t := &forwardTarget{upstream: app.UpstreamURL, path: path, res: res, profile: snap.Profile,
		identityHeaders: snap.IdentityHeaders(), client: client, scheme: scheme, websocketKey: websocketKey, upgradeOffered: offered,
		prompt: capture}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), targetKey{}, t)))
	if t.failure != "" {
		line.reasons = append(line.reasons, t.failure)
		line.ref, line.refused = t.failureRef, t.refused
	}
	return nil
}

// checkResponse inspects the application's response before it is passed on (see
// checkUpgradeResponse).
func (p *Proxy) checkResponse(res *http.Response) error {
	t, ok := res.Request.Context().Value(targetKey{}).(*forwardTarget)
	if !ok {
		return checkUpgradeResponse(res, "", false)
	}
	if err := checkUpgradeResponse(res, t.websocketKey, t.upgradeOffered); err != nil {
		return err
	}
	if t.prompt != nil {
		// The answer streams to the client as it arrives and is reassembled on the way.
		t.prompt.captureResponse(res)
	}
	return nil
}

// rewrite builds the outgoing request. httputil.ReverseProxy has already removed hop-by-hop
// headers (including those the client listed in Connection) and the exact names Forwarded and
// X-Forwarded-For/-Host/-Proto; p.strip removes every other spelling and every identity and
// client-address header (from trailers too, which some servers merge into headers) before
// Gatehouse sets its own.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	t := pr.In.Context().Value(targetKey{}).(*forwardTarget)
	out := pr.Out
	out.URL.Scheme = t.upstream.Scheme
	out.URL.Host = t.upstream.Host
	escaped := strings.TrimSuffix(t.upstream.EscapedPath(), "/") + t.path
	out.URL.RawPath = escaped
	if unescaped, err := url.PathUnescape(escaped); err == nil {
		out.URL.Path = unescaped
	}
	if out.URL.Path == out.URL.RawPath {
		out.URL.RawPath = ""
	}
	out.URL.RawQuery = pr.In.URL.RawQuery
	out.Host = pr.In.Host
	p.strip.Strip(out.Header, t.identityHeaders)
	if out.Trailer != nil {
		p.strip.Strip(out.Trailer, t.identityHeaders)
	}
	if t.res.Identity != nil {
		for name, values := range t.res.Identity.HeaderAttributes {
			for _, v := range values {
				out.Header.Add(name, strings.Map(dropControl, v))
			}
		}
	}
	if t.res.Token != "" {
		out.Header.Set(t.profile.JWTHeader, t.res.Token)
	}
	if t.res.Email != "" {
		out.Header.Set(t.profile.EmailHeader, t.res.Email)
	}
	if t.client.IP.IsValid() {
		out.Header.Set("X-Forwarded-For", t.client.IP.String())
		if t.profile.ClientIPHeader != "" {
			out.Header.Set(t.profile.ClientIPHeader, t.client.IP.String())
		}
	}
	if t.profile.CountryHeader != "" {
		country := t.client.Country
		if country == "" {
			country = "XX" // Cloudflare's value for an unknown country
		}
		out.Header.Set(t.profile.CountryHeader, country)
	}
	out.Header.Set("X-Forwarded-Host", pr.In.Host)
	out.Header.Set("X-Forwarded-Proto", t.scheme)
	if t.prompt != nil {
		// A captured answer is reassembled from its bytes: let the transport ask for gzip and
		// undo it, rather than the client's codings the stream could not read.
		out.Header.Del("Accept-Encoding")
	}
}

// dropControl removes control characters from a header value taken from an IdP attribute.
func dropControl(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return -1
	}
	return r
}

func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	snap := p.snaps.Load()
	status, reason, msg := http.StatusBadGateway, "upstream-unreachable", "The application is not reachable right now. Try again shortly."
	if t, ok := r.Context().Value(targetKey{}).(*forwardTarget); ok && t.upgradeOffered {
		// A connection that offered an upgrade is not reused for another request.
		w.Header().Set("Connection", "close")
	}
	var (
		mbe *http.MaxBytesError
		bad *connguard.FramingError
	)
	switch {
	case errors.Is(err, errBadUpgradeResponse):
		reason = "upstream-bad-upgrade"
	case errors.As(err, &bad):
		// The client's chunked body broke off in malformed framing: the application got an
		// aborted request.
		status, reason, msg = http.StatusBadRequest, "malformed-request-body", "The request body is malformed."
	case errors.As(err, &mbe):
		status, reason, msg = http.StatusRequestEntityTooLarge, "request-body-too-large", "The request body is too large."
		// The rest of the body is not read: the connection cannot carry another request (as
		// net/http's own MaxBytesReader would decide, had it our ResponseWriter).
		w.Header().Set("Connection", "close")
	case errors.Is(err, context.Canceled):
		status, reason = 499, "client-closed-request"
	case isTimeout(err):
		status, reason, msg = http.StatusGatewayTimeout, "upstream-timeout", "The application took too long to answer."
	}
	he := httpx.Errorf(status, reason, msg, err)
	if t, ok := r.Context().Value(targetKey{}).(*forwardTarget); ok {
		if t.prompt != nil {
			t.prompt.log(nil) // the prompt was sent (or tried); no answer came
		}
		t.failure = reason
		if status != 499 {
			he.Ref = httpx.NewRequestID()
			t.failureRef, t.refused = he.Ref, true
		}
	}
	if status == 499 {
		w.WriteHeader(status)
		return
	}
	web.RenderBrandedError(w, r, p.log, web.BrandOf(&snap.Org), he)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Service tokens.

// serviceTokenInput is what the proxy knows of a request's service-token credentials.
type serviceTokenInput = session.ServiceTokenCheck

// checkServiceToken validates service-token credentials (session.CheckServiceToken).
func (p *Proxy) checkServiceToken(snap *snapshot.Snapshot, clientID, secret string) serviceTokenInput {
	return session.CheckServiceToken(snap.ServiceTokens, clientID, secret, p.now())
}

// ServiceTokenExpiry is when a service token stops working (zero: never); see
// session.ServiceTokenExpiry.
func ServiceTokenExpiry(st *store.ServiceToken) time.Time { return session.ServiceTokenExpiry(st) }

type serviceJWTKey struct{ tokenID, appID, kid string }

type serviceJWT struct {
	raw string
	exp time.Time
}

// serviceAuth forwards a request authorised by a service token with a service-token JWT
// (common_name = client ID, empty sub). JWTs are minted once per token, app and signing key and
// reused until shortly before they expire: signing never happens per request.
func (p *Proxy) serviceAuth(snap *snapshot.Snapshot, app *snapshot.App, d policy.Decision, st serviceTokenInput) Result {
	if st.Token == nil {
		// A non_identity policy matched without a token (e.g. an IP rule): forward without identity.
		return Result{Outcome: OutcomeForward, Decision: d}
	}
	_, kid := p.keys.Signer()
	key := serviceJWTKey{st.Token.ID, app.ID, kid}
	now := p.now()
	if v, ok := p.serviceJWTs.Load(key); ok {
		if sj := v.(*serviceJWT); now.Add(time.Minute).Before(sj.exp) {
			return Result{Outcome: OutcomeForward, Decision: d, Token: sj.raw, ServiceTokenID: st.Token.ID}
		}
	}
	lifetime := app.SessionDuration
	exp := now.Add(lifetime)
	if te := ServiceTokenExpiry(st.Token); !te.IsZero() && te.Before(exp) {
		exp = te
	}
	raw, err := token.Mint(p.keys, &token.Claims{
		Type: "app", Audience: []string{app.AUD}, Issuer: snap.Issuer, IssuedAt: now.Unix(), NotBefore: now.Unix(),
		ExpiresAt: exp.Unix(), CommonName: st.Token.ClientID, Subject: "",
	})
	if err != nil {
		return Result{Outcome: OutcomeUnavailable, Err: err}
	}
	p.serviceJWTs.Store(key, &serviceJWT{raw: raw, exp: exp})
	return Result{Outcome: OutcomeForward, Decision: d, Token: raw, ServiceTokenID: st.Token.ID}
}

// CORS.

func answerPreflight(w http.ResponseWriter, r *http.Request, c *store.CORSHeaders) {
	setCORSHeaders(w.Header(), r, c)
	h := w.Header()
	if c.AllowAllMethods {
		h.Set("Access-Control-Allow-Methods", r.Header.Get("Access-Control-Request-Method"))
	} else if len(c.AllowedMethods) > 0 {
		h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowedMethods, ", "))
	}
	if c.AllowAllHeaders {
		if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
			h.Set("Access-Control-Allow-Headers", rh)
		}
	} else if len(c.AllowedHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowedHeaders, ", "))
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(c.MaxAge))
	}
	w.WriteHeader(http.StatusNoContent)
}

func setCORSHeaders(h http.Header, r *http.Request, c *store.CORSHeaders) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	allowed := c.AllowAllOrigins
	for _, o := range c.AllowedOrigins {
		if strings.EqualFold(o, origin) {
			allowed = true
		}
	}
	if !allowed {
		return
	}
	if c.AllowAllOrigins && !c.AllowCredentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	}
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}
