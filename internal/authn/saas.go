package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

// authDomainPath returns p if it is a path on the auth domain Gatehouse may send a browser back
// to after a login (SaaS SSO endpoints, the launcher, gateway device enrolment, the MCP portals'
// connect pages and upstream OAuth callback), else the launcher root. The admin console's pages
// (ConsolePath and below, without a query) are such paths too.
func authDomainPath(snap *snapshot.Snapshot, p string) string {
	clean := !strings.Contains(p, "//") && !strings.ContainsAny(p, "\\\r\n")
	if p == "/" || p == snap.Profile.Path(EnrollPath) ||
		(strings.HasPrefix(p, snap.Profile.Path("sso/")) || strings.HasPrefix(p, snap.Profile.Path("mcp/"))) && clean ||
		strings.HasPrefix(p, snap.Profile.Path(ConsolePath)) && clean && !strings.ContainsAny(p, "?#") {
		return p
	}
	return "/"
}

// Authorize implements the App Launcher's login step: AuthorizeFresh without freshness
// requirements.
func (s *Service) Authorize(w http.ResponseWriter, r *http.Request, app *snapshot.App, returnPath string) (*session.Grant, bool) {
	return s.AuthorizeFresh(w, r, app, returnPath, session.Freshness{})
}

// AuthorizeFresh implements saas.Env.Authorize: the grant of the browser's org session for app,
// or a login (coming back to returnPath) when there is none, or none recent enough for fresh.
func (s *Service) AuthorizeFresh(w http.ResponseWriter, r *http.Request, app *snapshot.App, returnPath string, fresh session.Freshness) (*session.Grant, bool) {
	snap := s.Snapshots.Load()
	g, err := s.authorize(w, r, snap, app, returnPath, fresh)
	if err != nil {
		// A failed SSO: its event carries the reference the error page shows.
		he := *httpx.AsError(err)
		he.Ref = httpx.NewRequestID()
		c := httpx.ClientOf(r)
		s.Audit.Auth(r.Context(), &store.AuthEvent{Action: authorizeAction(app), Allowed: false, AppID: app.ID,
			IP: c.IP.String(), Country: c.Country, Reasons: []string{he.Reason}, RequestID: he.Ref})
		s.fail(w, r, snap, &he)
		return nil, true
	}
	return g, g == nil
}

// authorize returns the grant, or nil when it answered the request itself (a login started, a
// block page), or an error to render.
func (s *Service) authorize(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, returnPath string, fresh session.Freshness) (*session.Grant, error) {
	ctx := r.Context()
	os, err := s.orgSession(r, snap)
	stale := err == nil && !fresh.AuthAfter.IsZero() && os.Session.CreatedAt.Before(fresh.AuthAfter)
	switch {
	case stale:
		// The relying party wants a login at or after AuthAfter: log in again, asking the IdP
		// to authenticate the user anew; the new session's login time is the answer's auth_time.
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
			return nil, httpx.Errorf(http.StatusMethodNotAllowed, "method-not-allowed", "This method is not allowed here.", nil)
		}
		return nil, s.beginLogin(w, r, snap, &loginTarget{app: app, host: snap.AuthHost, redirect: authDomainPath(snap, returnPath), forceAuthn: true})
	case err == nil:
	case session.IsNoSession(err):
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
			return nil, httpx.Errorf(http.StatusMethodNotAllowed, "method-not-allowed", "This method is not allowed here.", nil)
		}
		return nil, s.beginLogin(w, r, snap, &loginTarget{app: app, host: snap.AuthHost, redirect: authDomainPath(snap, returnPath)})
	default:
		return nil, errUnavailable(err)
	}
	c := httpx.ClientOf(r)
	d := app.Policies.Evaluate(&policy.Input{Identity: os.Identity, ClientIP: c.IP, Country: c.Country})
	if d.Action != policy.ActionAllow {
		ref := httpx.NewRequestID()
		s.Audit.Auth(ctx, &store.AuthEvent{Action: authorizeAction(app), Allowed: false, UserID: os.Identity.UserID, Email: os.Identity.Email,
			AppID: app.ID, IdPID: os.Identity.IdP.ID, IdPType: os.Identity.IdP.Type, IP: c.IP.String(), Country: c.Country,
			PolicyID: d.PolicyID, Reasons: d.Reasons, RequestID: ref})
		renderDeny(w, r, snap, app, os.Identity, d, false, ref)
		return nil, nil
	}
	return &session.Grant{Identity: os.Identity, SessionID: os.Session.ID, Decision: d}, nil
}

// authorizeAction is the auth event action of a refusal by Authorize: gateway_enroll for the
// warp application (device enrolment), admin_console for the admin console, saas_sso otherwise.
func authorizeAction(app *snapshot.App) string {
	switch {
	case app != nil && app.Type == store.AppWarp:
		return "gateway_enroll"
	case app != nil && app.Type == store.AppAdminConsole:
		return "admin_console"
	}
	return "saas_sso"
}

// Recheck implements saas.Env.Recheck: the user's last-seen identity against the app's
// policies, with the request's client attributes.
func (s *Service) Recheck(ctx context.Context, r *http.Request, app *snapshot.App, userID string) (*identity.Identity, policy.Decision, error) {
	u, err := s.Store.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, policy.Decision{Reasons: []string{"user-unknown"}}, nil
	}
	if err != nil {
		return nil, policy.Decision{}, fmt.Errorf("load user: %w", err)
	}
	if u.Status != "" && u.Status != store.UserActive {
		return nil, policy.Decision{Reasons: []string{"user-inactive"}}, nil
	}
	var ident identity.Identity
	if err := json.Unmarshal(u.LastSeen.Identity, &ident); err != nil || ident.Email == "" {
		return nil, policy.Decision{Reasons: []string{"user-identity-unknown"}}, nil
	}
	ident.UserID = u.ID
	in := &policy.Input{Identity: &ident}
	if r != nil {
		c := httpx.ClientOf(r)
		in.ClientIP, in.Country = c.IP, c.Country
	}
	return &ident, app.Policies.Evaluate(in), nil
}
