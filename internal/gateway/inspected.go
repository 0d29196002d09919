package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway/rules"
)

// UpstreamTransport returns the round tripper for a request decrypted from an inspected
// tunnel: untrusted is set when the deciding allow rule lets an untrusted destination
// certificate through (untrusted_cert: pass_through), http1 for protocol upgrades (WebSocket),
// which HTTP/1.1 carries. The round tripper dials with TunnelFrom(req.Context()).Dial, so only
// the tunnel's vetted addresses are reached.
type UpstreamTransport func(untrusted, http1 bool) http.RoundTripper

// inspectedRequest is what the forwarding of one decrypted request needs, in its context, with
// the rest of the request's own state (its log entry, the response recorder, the body counter,
// the client trace and the outgoing request's URL): one allocation for all of it.
type inspectedRequest struct {
	t  *Tunnel
	up UpstreamTransport
	// untrusted: the deciding rule passes untrusted destination certificates through.
	untrusted bool
	e         *entry
	site      string

	entry  entry
	rec    recorder
	body   countingReader
	trace  httptrace.ClientTrace
	outURL url.URL
}

type inspectedKey struct{}

// TunnelFrom returns the tunnel a decrypted request came through (nil outside one): upstream
// transports dial with it.
func TunnelFrom(ctx context.Context) *Tunnel {
	if ir, ok := ctx.Value(inspectedKey{}).(*inspectedRequest); ok {
		return ir.t
	}
	return nil
}

// Handler returns the handler of the requests decrypted from t: each one is authenticated by
// the tunnel, decided by the HTTP policies (request phase, then response phase), answered with
// the block page or a redirect, or forwarded to t's destination through up, and logged with
// its own line (kind "https").
func (t *Tunnel) Handler(up UpstreamTransport) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.g.serveInspected(w, r, t, up)
	})
}

func (g *Gateway) serveInspected(w http.ResponseWriter, r *http.Request, t *Tunnel, up UpstreamTransport) {
	ir := &inspectedRequest{t: t, up: up}
	e := &ir.entry
	*e = entry{start: time.Now(), method: r.Method, kind: "https", dest: t.Dest, id: t.Identity, requestID: newRequestID()}
	ir.e = e
	if t.Identity != nil {
		e.client = t.Identity.ClientIP
		e.lineStart, e.linePrefix = t.lineStart()
	}
	rec := &ir.rec
	*rec = recorder{ResponseWriter: w, entry: e}
	defer func() { g.logEntry(r.Context(), e, rec) }()
	w = rec
	if r.Method == http.MethodConnect {
		// A tunnel inside a tunnel would carry bytes no rule sees.
		e.refuse(http.StatusMethodNotAllowed, "connect-in-tunnel")
		plainError(w, http.StatusMethodNotAllowed, "CONNECT is not allowed inside an inspected tunnel.")
		return
	}
	site := fullURLHost("https", t.httpsHost(), r)
	ir.site = site
	ctx := context.WithValue(r.Context(), inspectedKey{}, ir)
	if pol := g.policy.Load(); pol != nil {
		st := getEvalState()
		defer putEvalState(st)
		rc, ok := g.decideRequest(w, r, e, pol, st, t.Identity, t.Dest, t.dstAddr(), site)
		if !ok {
			return
		}
		if rc != nil {
			ctx = context.WithValue(ctx, responseCheckKey{}, rc)
		}
		if rule := e.rule; rule != nil && rule.RuleSettings.UntrustedCert != nil {
			ir.untrusted = rule.RuleSettings.UntrustedCert.Action == rules.UntrustedPassThrough
		}
	}
	if r.ProtoMajor == 1 && !switchesProtocols(r.Header) {
		g.forwardInspected(ctx, w, r, e, ir)
		return
	}
	g.forward(g.irp, w, r.WithContext(ctx), e)
}

// rewriteInspected sends a decrypted request to the tunnel's destination, always with the
// destination's name as Host: a Host header naming another site (domain fronting) is not
// followed.
func rewriteInspected(pr *httputil.ProxyRequest) {
	ir := pr.In.Context().Value(inspectedKey{}).(*inspectedRequest)
	d := ir.t.Dest
	pr.Out.URL = &url.URL{Scheme: "https", Host: d.String(), Path: pr.In.URL.Path, RawPath: pr.In.URL.RawPath,
		RawQuery: pr.In.URL.RawQuery}
	pr.Out.Host = hostForHeader(d, "https")
}

// inspectedTransport picks the tunnel's upstream round tripper for each request.
type inspectedTransport struct{}

func (inspectedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ir, ok := req.Context().Value(inspectedKey{}).(*inspectedRequest)
	if !ok {
		return nil, errors.New("gateway: decrypted request without its tunnel")
	}
	upgrade := req.Header.Get("Upgrade") != ""
	return ir.up(ir.untrusted, upgrade).RoundTrip(req)
}

// UntrustedCertError wraps an upstream TLS verification failure (transports may return it, or
// crypto/tls's own errors, which are recognised too).
type UntrustedCertError struct{ Err error }

func (e *UntrustedCertError) Error() string {
	return "untrusted destination certificate: " + e.Err.Error()
}
func (e *UntrustedCertError) Unwrap() error { return e.Err }

// isUntrustedCert reports whether err is a failed verification of the destination's
// certificate.
func isUntrustedCert(err error) bool {
	var ue *UntrustedCertError
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &ue) || errors.As(err, &ve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// inspectedError answers a decrypted request that could not be forwarded: the block page for a
// blocked response or an untrusted destination certificate, else a bare gateway error.
func (g *Gateway) inspectedError(w http.ResponseWriter, r *http.Request, err error) {
	if g.blockedResponse(w, r, err) {
		return
	}
	ir, _ := r.Context().Value(inspectedKey{}).(*inspectedRequest)
	if ir != nil && isUntrustedCert(err) {
		e := ir.e
		g.log.DebugContext(r.Context(), "gateway: untrusted destination certificate", "host", ir.t.Dest.Host, "err", err)
		e.status, e.outcome, e.reason = http.StatusBadGateway, "blocked", "upstream-cert-untrusted"
		b := &BlockInfo{Status: http.StatusBadGateway, Title: "The site's certificate is not trusted",
			Reason: "The gateway could not verify the identity of " + ir.t.Dest.Host + ": its certificate is not trusted, has expired or names another site.",
			RuleID: e.ruleID, RuleName: e.ruleName, App: e.appName, Site: ir.site, RequestID: e.requestID}
		if e.id != nil {
			b.UserEmail = e.id.Email
		}
		WriteBlock(w, r, b)
		return
	}
	g.upstreamError(w, r, err)
}
