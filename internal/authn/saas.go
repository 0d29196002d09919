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
	"github.com/gatehouse/gatehouse/internal/saas"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

// SaaSHandler serves the endpoints of one SaaS protocol for an application; rest is the path
// after <prefix>sso/<protocol>/<app id>/.
type SaaSHandler interface {
	ServeHTTP(w http.ResponseWriter, r *http.Request, app *snapshot.App, rest string)
}

// authDomainPath returns p if it is a path on the auth domain Gatehouse may send a browser back
// to after a login (SaaS SSO endpoints and the launcher), else the launcher root.
func authDomainPath(snap *snapshot.Snapshot, p string) string {
	if p == "/" || strings.HasPrefix(p, snap.Profile.Path("sso/")) && !strings.Contains(p, "//") && !strings.ContainsAny(p, "\\\r\n") {
		return p
	}
	return "/"
}

// Authorize implements saas.Env.Authorize.
func (s *Service) Authorize(w http.ResponseWriter, r *http.Request, app *snapshot.App, returnPath string) (*saas.Grant, bool) {
	snap := s.Snapshots.Load()
	ctx := r.Context()
	os, err := s.VerifySessionToken(ctx, cookieValue(r, snap.Profile.Cookie), "org", snap.OrgAudience(), "")
	switch {
	case err == nil:
	case IsNoSession(err):
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
			s.renderError(w, r, snap, httpx.Errorf(http.StatusMethodNotAllowed, "method-not-allowed", "This method is not allowed here.", nil))
			return nil, true
		}
		s.beginLogin(w, r, snap, &loginTarget{app: app, host: snap.AuthHost, redirect: authDomainPath(snap, returnPath)})
		return nil, true
	default:
		s.renderError(w, r, snap, httpx.Errorf(http.StatusServiceUnavailable, "store-unavailable", "Sign-in is temporarily unavailable. Try again shortly.", err))
		return nil, true
	}
	ip, country := s.Client(r)
	d := app.Policies.Evaluate(&policy.Input{Identity: os.Identity, ClientIP: ip, Country: country})
	if d.Action != policy.ActionAllow {
		s.Audit.Auth(ctx, &store.AuthEvent{Action: "saas_sso", Allowed: false, UserID: os.Identity.UserID, Email: os.Identity.Email,
			AppID: app.ID, IdPID: os.Identity.IdP.ID, IdPType: os.Identity.IdP.Type, IP: ip.String(), Country: country,
			PolicyID: d.PolicyID, Reasons: d.Reasons})
		Deny(w, r, snap, app, os.Identity, d, false)
		return nil, true
	}
	return &saas.Grant{Identity: os.Identity, SessionID: os.Session.ID, Decision: d}, false
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
		in.ClientIP, in.Country = s.Client(r)
	}
	return &ident, app.Policies.Evaluate(in), nil
}

// serveSaaS routes <prefix>sso/<saml|oidc>/<app id>[/rest] to the protocol handler.
func (s *Service) serveSaaS(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, path string) {
	notFound := httpx.Errorf(http.StatusNotFound, "saas-app-unknown", "There is no such application.", nil)
	proto, rest, _ := strings.Cut(path, "/")
	appID, rest, _ := strings.Cut(rest, "/")
	app := snap.Apps[appID]
	if app == nil || app.Type != store.AppSaaS || app.SaaSApp == nil || app.SaaSApp.AuthType != proto {
		s.renderError(w, r, snap, notFound)
		return
	}
	var h SaaSHandler
	switch proto {
	case store.SaaSAuthSAML:
		h = s.SaaSSAML
	case store.SaaSAuthOIDC:
		h = s.SaaSOIDC
	}
	if h == nil {
		s.renderError(w, r, snap, notFound)
		return
	}
	h.ServeHTTP(w, r, app, rest)
}
