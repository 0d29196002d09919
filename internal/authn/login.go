package authn

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/web"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// Flow data keys.
const (
	flowState      = "state"      // hash of the app host's nonce cookie
	flowHost       = "host"       // app host the login is for
	flowChallenge  = "challenge"  // PIN challenge ID
	flowEmail      = "email"      // address a PIN was requested for
	flowPINSent    = "pin_sent"   // "1" when the PIN was sent: only then can it be entered
	flowProof      = "bind_proof" // hash of the one-time proof the app host issued (serveBind)
	flowBound      = "bound"      // "1" once the browser proved it holds the app host's nonce
	flowForceAuthn = "force"      // "1": the IdP must authenticate the user anew
	endpointBound  = "bound"      // <prefix>bound?flow=&proof= on the auth domain
	flowCSRF       = "csrf_nonce" // per-flow CSRF secret
)

// ServeHTTP serves the login flow's endpoints on the auth domain: login, IdP picker, start,
// PIN, callback, SAML metadata, IdP test, certs, get-identity, logout, and (when the composition
// root mounts nothing else there) the root. Errors of every endpoint go through one adapter.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	snap := s.Snapshots.Load()
	s.handle(w, r, snap, func() error { return s.route(w, r, snap) })
}

func (s *Service) route(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot) error {
	p := snap.Profile
	path := r.URL.Path
	switch {
	case path == "/" || path == "":
		s.serveHome(w, r, snap)
		return nil
	case path == p.Path(wire.EndpointCerts):
		return s.serveCerts(w, r)
	case path == p.Path(wire.EndpointGetIdentity):
		s.serveGetIdentity(w, r, snap, nil)
		return nil
	case path == p.Path(wire.EndpointLogout):
		return s.serveLogout(w, r, snap, nil)
	case strings.HasPrefix(path, p.Path(wire.EndpointLogin)+"/"):
		return s.serveLogin(w, r, snap, strings.TrimPrefix(path, p.Path(wire.EndpointLogin)+"/"))
	case path == p.Path("start"):
		return s.serveStart(w, r, snap)
	case path == p.Path(endpointBound):
		return s.serveBound(w, r, snap)
	case path == p.Path(wire.EndpointPIN):
		return s.servePINSend(w, r, snap)
	case path == p.Path(wire.EndpointPIN)+"/verify":
		return s.servePINVerify(w, r, snap)
	case path == p.Path(wire.EndpointCallback):
		return s.serveCallback(w, r, snap)
	case path == p.Path(wire.EndpointCallback)+"/"+endpointContinue:
		return s.serveContinue(w, r, snap)
	case strings.HasPrefix(path, p.Path(endpointTestIdP)+"/"):
		return s.serveTestIdP(w, r, snap, strings.TrimPrefix(path, p.Path(endpointTestIdP)+"/"))
	case path == p.Path(endpointSAMLMeta):
		return s.serveSAMLMetadata(w, snap, "")
	case strings.HasPrefix(path, p.Prefix) && strings.HasSuffix(path, "/"+endpointSAMLMeta):
		return s.serveSAMLMetadata(w, snap, strings.TrimSuffix(strings.TrimPrefix(path, p.Prefix), "/"+endpointSAMLMeta))
	}
	return errNotFound
}

// errNotFound is the answer to a path no endpoint serves.
var errNotFound = httpx.Errorf(http.StatusNotFound, "not-found", "This page does not exist.", nil)

func (s *Service) serveCerts(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(s.Keys.CertsJSON())
	return nil
}

// ServeStatus is the auth domain root when no App Launcher is configured: it shows who is
// signed in.
func (s *Service) ServeStatus(w http.ResponseWriter, r *http.Request) {
	s.serveHome(w, r, s.Snapshots.Load())
}

func (s *Service) serveHome(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot) {
	os, err := s.orgSession(r, snap)
	if err != nil {
		web.Render(w, http.StatusOK, "message.html", &web.Page{Title: "Gatehouse", Brand: web.BrandOf(&snap.Org),
			Message: "You are not signed in. Open an application protected by Gatehouse to sign in."})
		return
	}
	web.Render(w, http.StatusOK, "message.html", &web.Page{Title: "Signed in", Brand: web.BrandOf(&snap.Org),
		Message: "You are signed in as " + os.Identity.Email + ".",
		Data:    map[string]string{"Link": snap.Profile.Path(wire.EndpointLogout), "LinkText": "Sign out"}})
}

// LoginURL is where an app host sends a browser to log in.
func LoginURL(snap *snapshot.Snapshot, app *snapshot.App, host, redirectPath, state string) string {
	q := url.Values{}
	q.Set("kid", app.AUD)
	q.Set("redirect_url", redirectPath)
	q.Set("state", state)
	return snap.Issuer + snap.Profile.Path(wire.EndpointLogin) + "/" + host + "?" + q.Encode()
}

// StartAppLogin sets the app host's nonce cookie and redirects the browser to the auth domain.
// redirectPath is the normalised path and query the user asked for; reasons say why the proxy
// needs a login (e.g. "identity-required", "token-expired"). When a presented credential was
// refused (session.IsRefusal), the refusal is recorded in the auth log with its reasons, at most
// refusalEventsPerIP a minute per client address and replica (the access log has every one).
func (s *Service) StartAppLogin(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, host, redirectPath string, reasons []string) {
	if slices.ContainsFunc(reasons, session.IsRefusal) && s.refusals.allow(httpx.ClientOf(r).IP, s.now()) {
		c := httpx.ClientOf(r)
		s.Audit.Auth(r.Context(), &store.AuthEvent{Action: "access", Allowed: false, AppID: app.ID, AppDomain: host,
			IP: c.IP.String(), Country: c.Country, Reasons: reasons})
	}
	nonce := randomToken(32)
	setCookie(w, s.now(), snap.AppFlowCookie(), nonce, appNonceMaxAge, http.SameSiteLaxMode, true, snap.Secure())
	web.SetSecurityHeaders(w.Header())
	http.Redirect(w, r, LoginURL(snap, app, host, redirectPath, hashValue("app-nonce", nonce)), http.StatusFound)
}

// loginTarget is a validated login request: which app, which host, and where to return.
type loginTarget struct {
	app      *snapshot.App
	host     string
	redirect string // path and query on host
	state    string
	// bound says the browser proved it holds the app host's nonce for state (serveBind); only
	// then may a hand-off code be minted for an app host.
	bound bool
	// forceAuthn asks the identity provider to authenticate the user anew.
	forceAuthn bool
}

// targetOf is the login target a flow was created for.
func targetOf(snap *snapshot.Snapshot, f *store.LoginFlow) *loginTarget {
	return &loginTarget{app: snap.Apps[f.AppID], host: f.Data[flowHost], redirect: f.RedirectURL, state: f.Data[flowState],
		bound: f.Data[flowBound] == "1"}
}

func (s *Service) parseLoginTarget(snap *snapshot.Snapshot, host string, q url.Values) (*loginTarget, error) {
	bad := func(why string) error {
		return httpx.Errorf(http.StatusBadRequest, "bad-login-request", "This sign-in link is not valid. Open the application again.", errors.New(why))
	}
	host = httpx.NormalizeHost(host) // the host the proxy will see: lower case, no trailing dot
	app := snap.AppsByAUD[q.Get("kid")]
	if app == nil {
		return nil, bad("unknown application audience")
	}
	state := q.Get("state")
	if len(state) != 64 || strings.Trim(state, "0123456789abcdef") != "" {
		return nil, bad("missing or malformed state")
	}
	redirect, ok := httpx.SafeRedirect(q.Get("redirect_url"), host)
	if !ok || !strings.HasPrefix(redirect, "/") {
		return nil, bad("redirect_url is not a path on the app host")
	}
	u, err := url.Parse(redirect)
	if err != nil {
		return nil, bad("redirect_url does not parse")
	}
	norm, err := httpx.NormalizePath(u.EscapedPath())
	if err != nil {
		return nil, bad("redirect_url path is ambiguous")
	}
	if id, ok, err := snap.Routes.Resolve(host, norm); err != nil || !ok || id != app.ID {
		return nil, bad("redirect_url does not belong to the application")
	}
	redirect = norm
	if u.RawQuery != "" {
		redirect += "?" + u.RawQuery
	}
	return &loginTarget{app: app, host: host, redirect: redirect, state: state}, nil
}

// serveLogin handles <prefix>login/<app host>, where an app host sends a browser to log in. After
// the non-identity policy check it creates a flow bound to this browser on the auth domain and
// sends the browser to the app host's bind endpoint, which checks that the same browser holds the
// nonce the app host set (serveBind) and sends it on to serveBound: a login link opened in
// another browser never gets a hand-off code minted for the nonce of the browser that started it.
func (s *Service) serveLogin(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, host string) error {
	if r.Method != http.MethodGet {
		return httpx.Errorf(http.StatusMethodNotAllowed, "method-not-allowed", "This page only supports GET.", nil)
	}
	t, err := s.parseLoginTarget(snap, host, r.URL.Query())
	if err != nil {
		return err
	}
	if s.preflightDenied(w, r, snap, t.app) {
		return nil
	}
	f, err := s.newFlow(w, r, snap, t)
	if err != nil {
		return err
	}
	web.SetSecurityHeaders(w.Header())
	http.Redirect(w, r, snap.URL(t.host)+snap.Profile.Path(wire.EndpointBind)+"?"+url.Values{"flow": {f.ID}}.Encode(), http.StatusFound)
	return nil
}

// serveBound continues a login after the app host confirmed the browser holds its nonce: the
// flow must be this browser's (auth-domain cookie) and the proof the app host gave it must match,
// once. Then an org session is reused, or the IdP picker shown.
func (s *Service) serveBound(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot) error {
	q := r.URL.Query()
	f, err := s.loadFlow(r, snap, q.Get("flow"))
	if err != nil {
		if he := httpx.AsError(err); he.Reason == "flow-browser-mismatch" {
			// A bound link opened in another browser: it starts over at the application.
			c := httpx.ClientOf(r)
			s.Audit.Auth(r.Context(), &store.AuthEvent{Action: "login", Allowed: false, IP: c.IP.String(), Country: c.Country,
				Reasons: []string{"flow-foreign-browser"}})
		}
		return err
	}
	proof := q.Get("proof")
	if f.Data[flowProof] == "" || subtle.ConstantTimeCompare([]byte(hashValue("bind-proof", proof)), []byte(f.Data[flowProof])) != 1 {
		return httpx.Errorf(http.StatusBadRequest, "flow-proof-invalid", "This sign-in attempt has expired. Open the application again to sign in.", nil)
	}
	delete(f.Data, flowProof)
	f.Data[flowBound] = "1"
	t := targetOf(snap, f)
	if t.app == nil {
		return httpx.Errorf(http.StatusBadRequest, "app-gone", "This application is no longer available.", nil)
	}
	os, err := s.orgSession(r, snap)
	switch {
	case err == nil:
		s.endFlow(r.Context(), w, snap, f)
		return s.completeAppLogin(w, r, snap, t, os, false)
	case !session.IsNoSession(err):
		return errUnavailable(err)
	}
	if err := s.replaceFlow(r.Context(), f); err != nil {
		return err
	}
	return s.showLoginChoices(w, r, snap, t, f)
}

// preflightDenied renders the block page and reports true when the application's policies
// refuse the request on its non-identity attributes (address, country) before any login.
func (s *Service) preflightDenied(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App) bool {
	c := httpx.ClientOf(r)
	d := app.Policies.Preflight(&policy.Input{ClientIP: c.IP, Country: c.Country})
	if d.Action != policy.ActionDeny {
		return false
	}
	ref := httpx.NewRequestID()
	s.Audit.Auth(r.Context(), &store.AuthEvent{Action: "login", Allowed: false, AppID: app.ID, IP: c.IP.String(), Country: c.Country,
		PolicyID: d.PolicyID, Reasons: d.Reasons, RequestID: ref})
	renderDeny(w, r, snap, app, nil, d, true, ref)
	return true
}

// beginLogin starts a login on the auth domain itself (SaaS SSO, the App Launcher) for a browser
// without an org session: the non-identity policy check, a flow, then the IdP choice.
func (s *Service) beginLogin(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, t *loginTarget) error {
	if s.preflightDenied(w, r, snap, t.app) {
		return nil
	}
	flow, err := s.newFlow(w, r, snap, t)
	if err != nil {
		return err
	}
	return s.showLoginChoices(w, r, snap, t, flow)
}

// showLoginChoices shows the IdP picker for flow (or goes straight to the only IdP).
func (s *Service) showLoginChoices(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, t *loginTarget, flow *store.LoginFlow) error {
	if len(t.app.LoginIdPs) == 0 {
		return httpx.Errorf(http.StatusForbidden, "no-login-method", "No sign-in method is available for this application.", nil)
	}
	if len(t.app.LoginIdPs) == 1 {
		// Instant auth: with one login method the picker would only add a click.
		http.Redirect(w, r, startURL(snap, flow.ID, t.app.LoginIdPs[0].ID), http.StatusFound)
		return nil
	}
	type idpLink struct{ Name, URL string }
	var links []idpLink
	for _, idp := range t.app.LoginIdPs {
		links = append(links, idpLink{Name: idp.Name, URL: startURL(snap, flow.ID, idp.ID)})
	}
	web.Render(w, http.StatusOK, "login.html", &web.Page{Title: "Sign in", Brand: web.BrandOf(&snap.Org), AppName: t.app.Name,
		Data: map[string]any{"AppName": t.app.Name, "IdPs": links}})
	return nil
}

func startURL(snap *snapshot.Snapshot, flowID, idpID string) string {
	return snap.Profile.Path("start") + "?" + url.Values{"flow": {flowID}, "idp": {idpID}}.Encode()
}

// newFlow stores a login flow bound to a fresh cookie on this browser, at most LoginFlowsPerIP
// per client address.
func (s *Service) newFlow(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, t *loginTarget) (*store.LoginFlow, error) {
	if err := s.allowLoginStart(r); err != nil {
		return nil, err
	}
	binding := randomToken(32)
	now := s.now()
	f := &store.LoginFlow{
		ID:             randomToken(18),
		RedirectURL:    t.redirect,
		CreatedAt:      now,
		ExpiresAt:      now.Add(FlowLifetime),
		BrowserBinding: hashValue("flow", binding),
		Data:           map[string]string{flowState: t.state, flowHost: t.host, flowCSRF: randomToken(18)},
	}
	if t.forceAuthn {
		f.Data[flowForceAuthn] = "1"
	}
	if t.app != nil {
		f.AppID = t.app.ID
	}
	if err := s.Store.CreateLoginFlow(r.Context(), f); err != nil {
		return nil, errUnavailable(err)
	}
	setCookie(w, now, snap.FlowCookie()+"_"+f.ID[:8], binding, FlowLifetime, http.SameSiteLaxMode, true, snap.Secure())
	return f, nil
}

// requireBound refuses to go on with a login for an app host whose flow the browser has not
// bound yet (serveBind): the IdP is never asked before the binding is proven.
func requireBound(snap *snapshot.Snapshot, f *store.LoginFlow) error {
	if host := f.Data[flowHost]; host != "" && host != snap.AuthHost && f.Data[flowBound] != "1" {
		return httpx.Errorf(http.StatusBadRequest, "flow-not-bound", "This sign-in attempt has expired. Open the application again to sign in.", nil)
	}
	return nil
}

// endFlow deletes a finished flow and its binding cookie on this browser, so that a browser does
// not collect a cookie per login.
func (s *Service) endFlow(ctx context.Context, w http.ResponseWriter, snap *snapshot.Snapshot, f *store.LoginFlow) {
	_ = s.Store.DeleteLoginFlow(ctx, f.ID)
	if len(f.ID) >= 8 {
		setCookie(w, s.now(), snap.FlowCookie()+"_"+f.ID[:8], "", -1, http.SameSiteLaxMode, true, snap.Secure())
	}
}

// allowLoginStart counts one login start (a new flow, or an IdP-initiated response) against the
// client address's LoginFlowsPerIP budget.
func (s *Service) allowLoginStart(r *http.Request) error {
	ok, err := s.Store.HitRateLimit(r.Context(), "login-flow-ip:"+httpx.ClientOf(r).IP.String(), LoginFlowsPerIP.Window, LoginFlowsPerIP.Max)
	if err != nil {
		return errUnavailable(err)
	}
	if !ok {
		return httpx.Errorf(http.StatusTooManyRequests, "rate-limited", "Too many sign-ins were started from your network. Wait a minute and try again.", nil)
	}
	return nil
}

// loadFlow returns the flow named in the request if this browser started it.
func (s *Service) loadFlow(r *http.Request, snap *snapshot.Snapshot, id string) (*store.LoginFlow, error) {
	expired := httpx.Errorf(http.StatusBadRequest, "flow-invalid", "This sign-in attempt has expired. Open the application again to sign in.", nil)
	if len(id) < 8 {
		return nil, expired
	}
	f, err := s.Store.GetLoginFlow(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, expired
	}
	if err != nil {
		return nil, errUnavailable(err)
	}
	binding := cookieValue(r, snap.FlowCookie()+"_"+id[:8])
	if binding == "" || hashValue("flow", binding) != f.BrowserBinding {
		expired.Reason = "flow-browser-mismatch"
		return nil, expired
	}
	return f, nil
}

// flowBinding is how a request relates to the browser that started a login flow.
type flowBinding int

const (
	bindingAbsent  flowBinding = iota // the request carries no cookie for the flow
	bindingOwn                        // the flow cookie of the browser that started it
	bindingForeign                    // a cookie for the flow that is not its browser's
)

// bindingOf tells whether r comes from the browser that started flow f.
func bindingOf(r *http.Request, snap *snapshot.Snapshot, f *store.LoginFlow) flowBinding {
	if len(f.ID) < 8 {
		return bindingForeign
	}
	binding := cookieValue(r, snap.FlowCookie()+"_"+f.ID[:8])
	switch {
	case binding == "":
		return bindingAbsent
	case subtle.ConstantTimeCompare([]byte(hashValue("flow", binding)), []byte(f.BrowserBinding)) == 1:
		return bindingOwn
	}
	return bindingForeign
}

// csrfToken is the per-flow form token; the flow cookie binds the flow to the browser.
func csrfToken(f *store.LoginFlow) string { return hashValue("csrf", f.ID+"\x00"+f.Data[flowCSRF]) }

// serveStart sends a browser to the chosen IdP.
func (s *Service) serveStart(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot) error {
	f, err := s.loadFlow(r, snap, r.URL.Query().Get("flow"))
	if err != nil {
		return err
	}
	if err := requireBound(snap, f); err != nil {
		return err
	}
	app := snap.Apps[f.AppID]
	idpID := r.URL.Query().Get("idp")
	var idp *store.IdentityProvider
	if app != nil {
		for _, candidate := range app.LoginIdPs {
			if candidate.ID == idpID {
				idp = candidate
			}
		}
	}
	if idp == nil {
		return httpx.Errorf(http.StatusBadRequest, "idp-not-allowed", "This sign-in method is not available for this application.", nil)
	}
	if idp.Type == store.IdPOneTimePIN {
		s.renderPINEmail(w, snap, f, "")
		return nil
	}
	return s.startRedirectLogin(w, r, snap, f, idp)
}

// completeAppLogin evaluates the app's policies for a logged-in identity and, if allowed, mints
// the app token and hands it to the app host through a single-use code.
func (s *Service) completeAppLogin(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, t *loginTarget, os *session.Verified, freshLogin bool) error {
	if t.host != snap.AuthHost && !t.bound {
		// Every path to an app host's hand-off passes serveBind; anything else is a bug.
		return httpx.Errorf(http.StatusBadRequest, "flow-not-bound", "This sign-in attempt has expired. Open the application again to sign in.",
			errors.New("hand-off requested for a flow the browser has not bound"))
	}
	if t.host == snap.AuthHost {
		// SaaS SSO and the App Launcher live on the auth domain: the org cookie just set is
		// all they need, and they evaluate their policies themselves (and record that). The
		// login itself is recorded here.
		if freshLogin {
			c := httpx.ClientOf(r)
			s.Audit.Auth(r.Context(), &store.AuthEvent{Action: "login", Allowed: true, UserID: os.Identity.UserID, Email: os.Identity.Email,
				AppID: t.app.ID, AppDomain: t.host, IdPID: os.Identity.IdP.ID, IdPType: os.Identity.IdP.Type, IP: c.IP.String(),
				Country: c.Country, Reasons: []string{"org-session-started"}})
		}
		web.SetSecurityHeaders(w.Header())
		http.Redirect(w, r, authDomainPath(snap, t.redirect), http.StatusFound)
		return nil
	}
	c := httpx.ClientOf(r)
	d := t.app.Policies.Evaluate(&policy.Input{Identity: os.Identity, ClientIP: c.IP, Country: c.Country})
	ev := &store.AuthEvent{Action: "login", Allowed: d.Action == policy.ActionAllow, UserID: os.Identity.UserID,
		Email: os.Identity.Email, AppID: t.app.ID, AppDomain: t.host, IdPID: os.Identity.IdP.ID, IdPType: os.Identity.IdP.Type,
		IP: c.IP.String(), Country: c.Country, PolicyID: d.PolicyID, Reasons: d.Reasons}
	if !freshLogin {
		ev.Reasons = append([]string{"org-session-reused"}, d.Reasons...)
	}
	if d.Action != policy.ActionAllow {
		// The block page's reference is the event's: an administrator finds the reasons by it.
		ev.RequestID = httpx.NewRequestID()
	}
	s.Audit.Auth(r.Context(), ev)
	if d.Action != policy.ActionAllow {
		renderDeny(w, r, snap, t.app, os.Identity, d, false, ev.RequestID)
		return nil
	}
	now := s.now()
	lifetime := t.app.SessionDuration
	if d.SessionDuration > 0 {
		lifetime = d.SessionDuration
	}
	// An app token never outlives the org session it came from.
	if until := os.Session.ExpiresAt.Sub(now); until < lifetime {
		lifetime = until
	}
	claims := s.identityClaims(snap, os, c.Country, now, lifetime)
	claims.Type = "app"
	claims.Audience = []string{t.app.AUD}
	raw, err := token.Mint(s.Keys, claims)
	if err != nil {
		return fmt.Errorf("mint app token: %w", err)
	}
	code := randomToken(32)
	hc := &store.HandoffCode{
		CodeHash: hashValue("handoff", code), SessionID: os.Session.ID, AppID: t.app.ID, Host: t.host,
		RedirectURL: t.redirect, BrowserBinding: t.state, Token: raw, CreatedAt: now, ExpiresAt: now.Add(HandoffLifetime),
	}
	if err := s.Store.CreateHandoffCode(r.Context(), hc); err != nil {
		return errUnavailable(err)
	}
	web.SetSecurityHeaders(w.Header())
	http.Redirect(w, r, snap.URL(t.host)+snap.Profile.Path(wire.EndpointAuthorized)+"?"+url.Values{"code": {code}}.Encode(), http.StatusFound)
	return nil
}

// identityClaims fills the identity part of org and app tokens.
func (s *Service) identityClaims(snap *snapshot.Snapshot, os *session.Verified, country string, now time.Time, lifetime time.Duration) *token.Claims {
	return &token.Claims{
		Issuer:        snap.Issuer,
		Subject:       os.Identity.UserID,
		Email:         os.Identity.Email,
		IssuedAt:      now.Unix(),
		NotBefore:     now.Unix(),
		ExpiresAt:     now.Add(lifetime).Unix(),
		IdentityNonce: os.Session.ID,
		Country:       country,
		Custom:        os.Identity.Custom(),
		AMR:           os.Identity.AMR,
		IdP:           &token.IdP{ID: os.Identity.IdP.ID, Type: os.Identity.IdP.Type},
	}
}

// Deny renders the block page for a decision, or redirects to the app's custom deny URL, and
// logs the denial with its reasons under ref, the reference ID the page shows (the proxy logs the
// request with it too). nonIdentity says the request was refused before any identity was
// considered (IP, country, service token).
func (s *Service) Deny(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, id *identity.Identity, d policy.Decision, nonIdentity bool, ref string) {
	if ref == "" {
		ref = httpx.NewRequestID()
	}
	email := ""
	if id != nil {
		email = id.Email
	}
	s.Log.LogAttrs(r.Context(), slog.LevelInfo, "access denied", slog.String("ref", ref), slog.String("app", app.ID),
		slog.String("email", email), slog.String("policy", d.PolicyID), slog.Any("reasons", d.Reasons), slog.Bool("non_identity", nonIdentity))
	renderDeny(w, r, snap, app, id, d, nonIdentity, ref)
}

// renderDeny renders the block page (reference ref; "" for a new one) or redirects to the custom
// deny URL.
func renderDeny(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, id *identity.Identity, d policy.Decision, nonIdentity bool, ref string) {
	target := app.CustomDenyURL
	if nonIdentity {
		target = app.CustomNonIdentityDenyURL
	}
	if target != "" {
		web.SetSecurityHeaders(w.Header())
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	msg := app.CustomDenyMessage
	if msg == "" {
		msg = snap.Org.CustomDenyMessage
	}
	email := ""
	if id != nil {
		email = id.Email
	}
	if ref == "" {
		ref = httpx.NewRequestID()
	}
	w.Header().Set("Gatehouse-Reasons", strings.Join(d.Reasons, ","))
	web.Render(w, http.StatusForbidden, "deny.html", &web.Page{Title: "Access denied", Brand: web.BrandOf(&snap.Org), AppName: app.Name, Message: msg, RequestID: ref,
		Links: launcherLinks(snap, app),
		Data: map[string]any{"AppName": app.Name, "Email": email, "NonIdentity": nonIdentity,
			"LogoutURL": snap.Issuer + snap.Profile.Path(wire.EndpointLogout)}})
}

// startSession creates the user's org session after a successful IdP login and sets the org
// cookie.
func (s *Service) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, ident *identity.Identity) (*session.Verified, error) {
	c := httpx.ClientOf(r)
	now := s.now()
	sess, err := session.Create(ctx, s.Store, session.Start{Identity: ident, IP: c.IP.String(), Country: c.Country,
		Now: now, Lifetime: snap.OrgSessionDuration()})
	switch {
	case errors.Is(err, session.ErrUserInactive):
		return nil, httpx.Errorf(http.StatusForbidden, "user-inactive", "This account has been deactivated.", nil)
	case err != nil:
		return nil, errUnavailable(err)
	}
	os := &session.Verified{Session: sess, Identity: ident}
	claims := s.identityClaims(snap, os, c.Country, now, snap.OrgSessionDuration())
	claims.Type = "org"
	claims.Audience = []string{snap.OrgAudience()}
	orgToken, err := token.Mint(s.Keys, claims)
	if err != nil {
		return nil, fmt.Errorf("mint org token: %w", err)
	}
	os.Claims = claims
	setCookie(w, now, snap.OrgCookie(), orgToken, snap.OrgSessionDuration(), http.SameSiteLaxMode, true, snap.Secure())
	return os, nil
}
