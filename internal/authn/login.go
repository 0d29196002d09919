package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
	flowState     = "state"      // hash of the app host's nonce cookie
	flowHost      = "host"       // app host the login is for
	flowChallenge = "challenge"  // PIN challenge ID
	flowEmail     = "email"      // address a PIN was requested for
	flowCSRF      = "csrf_nonce" // per-flow CSRF secret
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
		web.Render(w, http.StatusOK, "message.html", &web.Page{Title: "Gatehouse", OrgName: snap.Org.Name,
			Message: "You are not signed in. Open an application protected by Gatehouse to sign in."})
		return
	}
	web.Render(w, http.StatusOK, "message.html", &web.Page{Title: "Signed in", OrgName: snap.Org.Name,
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
// needs a login (e.g. "identity-required", "token-expired").
func (s *Service) StartAppLogin(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, host, redirectPath string, reasons []string) {
	nonce := randomToken(32)
	setCookie(w, snap.Profile.AppFlowCookie(), nonce, appNonceMaxAge, http.SameSiteLaxMode, true, snap.Secure())
	web.SetSecurityHeaders(w.Header())
	http.Redirect(w, r, LoginURL(snap, app, host, redirectPath, hashValue("app-nonce", nonce)), http.StatusFound)
}

// loginTarget is a validated login request: which app, which host, and where to return.
type loginTarget struct {
	app      *snapshot.App
	host     string
	redirect string // path and query on host
	state    string
}

func (s *Service) parseLoginTarget(snap *snapshot.Snapshot, host string, q url.Values) (*loginTarget, error) {
	bad := func(why string) error {
		return httpx.Errorf(http.StatusBadRequest, "bad-login-request", "This sign-in link is not valid. Open the application again.", errors.New(why))
	}
	host = strings.ToLower(host)
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

// serveLogin handles <prefix>login/<app host>: reuse the org session when there is one, else show
// the IdP picker (or go straight to the only IdP with instant auth).
func (s *Service) serveLogin(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, host string) error {
	if r.Method != http.MethodGet {
		return httpx.Errorf(http.StatusMethodNotAllowed, "method-not-allowed", "This page only supports GET.", nil)
	}
	t, err := s.parseLoginTarget(snap, host, r.URL.Query())
	if err != nil {
		return err
	}
	os, err := s.orgSession(r, snap)
	switch {
	case err == nil:
		return s.completeAppLogin(w, r, snap, t, os, false)
	case !session.IsNoSession(err):
		return errUnavailable(err)
	}
	return s.beginLogin(w, r, snap, t)
}

// beginLogin starts a login for target t on a browser without an org session: the
// non-identity policy check, then the IdP picker (or the only IdP at once).
func (s *Service) beginLogin(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, t *loginTarget) error {
	c := httpx.ClientOf(r)
	if d := t.app.Policies.Preflight(&policy.Input{ClientIP: c.IP, Country: c.Country}); d.Action == policy.ActionDeny {
		renderDeny(w, r, snap, t.app, nil, d, true, "")
		return nil
	}
	if len(t.app.LoginIdPs) == 0 {
		return httpx.Errorf(http.StatusForbidden, "no-login-method", "No sign-in method is available for this application.", nil)
	}
	flow, err := s.newFlow(w, r, snap, t)
	if err != nil {
		return err
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
	web.Render(w, http.StatusOK, "login.html", &web.Page{Title: "Sign in", OrgName: snap.Org.Name,
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
	if t.app != nil {
		f.AppID = t.app.ID
	}
	if err := s.Store.CreateLoginFlow(r.Context(), f); err != nil {
		return nil, errUnavailable(err)
	}
	setCookie(w, snap.Profile.FlowCookie()+"_"+f.ID[:8], binding, FlowLifetime, http.SameSiteLaxMode, true, snap.Secure())
	return f, nil
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
	binding := cookieValue(r, snap.Profile.FlowCookie()+"_"+id[:8])
	if binding == "" || hashValue("flow", binding) != f.BrowserBinding {
		expired.Reason = "flow-browser-mismatch"
		return nil, expired
	}
	return f, nil
}

// csrfToken is the per-flow form token; the flow cookie binds the flow to the browser.
func csrfToken(f *store.LoginFlow) string { return hashValue("csrf", f.ID+"\x00"+f.Data[flowCSRF]) }

// serveStart sends a browser to the chosen IdP.
func (s *Service) serveStart(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot) error {
	f, err := s.loadFlow(r, snap, r.URL.Query().Get("flow"))
	if err != nil {
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
	if t.host == snap.AuthHost {
		// SaaS SSO and the App Launcher live on the auth domain: the org cookie just set is
		// all they need, and they evaluate their policies themselves.
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
	s.Audit.Auth(r.Context(), ev)
	if d.Action != policy.ActionAllow {
		renderDeny(w, r, snap, t.app, os.Identity, d, false, "")
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

// Deny renders the block page for a decision, or redirects to the app's custom deny URL.
// nonIdentity says the request was refused before any identity was considered (IP, country,
// service token); ref is the reference ID the proxy logged the request with.
func (s *Service) Deny(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, id *identity.Identity, d policy.Decision, nonIdentity bool, ref string) {
	renderDeny(w, r, snap, app, id, d, nonIdentity, ref)
}

// renderDeny renders the block page with reference ref ("" for a new one).
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
	web.Render(w, http.StatusForbidden, "deny.html", &web.Page{Title: "Access denied", OrgName: snap.Org.Name, Message: msg, RequestID: ref,
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
	setCookie(w, snap.Profile.Cookie, orgToken, snap.OrgSessionDuration(), http.SameSiteLaxMode, true, snap.Secure())
	return os, nil
}
