package authn

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// ServeAppEndpoint serves the reserved endpoints under the wire prefix on an app host:
// authorized (login hand-off), certs, get-identity and logout. app is the application the host
// belongs to (nil when no application covers the host at all).
func (s *Service) ServeAppEndpoint(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App, host, endpoint string) {
	s.handle(w, r, snap, func() error {
		switch endpoint {
		case wire.EndpointCerts:
			return s.serveCerts(w, r)
		case wire.EndpointAuthorized:
			return s.serveAuthorized(w, r, snap, host)
		case wire.EndpointGetIdentity:
			s.serveGetIdentity(w, r, snap, app)
			return nil
		case wire.EndpointLogout:
			return s.serveLogout(w, r, snap, app)
		}
		return errNotFound
	})
}

// serveAuthorized consumes a hand-off code on the app host and sets the app cookie.
func (s *Service) serveAuthorized(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, host string) error {
	code := r.URL.Query().Get("code")
	invalid := httpx.Errorf(http.StatusBadRequest, "handoff-invalid", "This sign-in link has expired or was already used. Open the application again.", nil)
	if len(code) != 43 {
		return invalid
	}
	hc, err := s.Store.ConsumeHandoffCode(r.Context(), hashValue("handoff", code))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return invalid
	case errors.Is(err, store.ErrConflict):
		invalid.Reason = "handoff-replayed"
		return invalid
	case err != nil:
		return errUnavailable(err)
	}
	app := snap.Apps[hc.AppID]
	if app == nil || hc.Host != host {
		invalid.Reason = "handoff-wrong-host"
		return invalid
	}
	nonce := cookieValue(r, snap.Profile.AppFlowCookie())
	if nonce == "" || hashValue("app-nonce", nonce) != hc.BrowserBinding {
		// Another browser's code (login CSRF), or a second tab overwrote the nonce: start over.
		s.Log.Warn("hand-off code presented by a browser that did not start the login", "app", app.ID, "host", host)
		s.StartAppLogin(w, r, snap, app, host, hc.RedirectURL, nil)
		return nil
	}
	claims, err := s.Sessions.Tokens().Verify(hc.Token)
	if err != nil {
		return httpx.Errorf(http.StatusBadRequest, "handoff-token-invalid", "This sign-in link has expired. Open the application again.", err)
	}
	setCookie(w, snap.Profile.AppFlowCookie(), "", -1, http.SameSiteLaxMode, true, snap.Secure())
	setCookie(w, snap.Profile.Cookie, hc.Token, time.Until(time.Unix(claims.ExpiresAt, 0)), app.SameSite, app.HTTPOnly, snap.Secure())
	web.SetSecurityHeaders(w.Header())
	target := hc.RedirectURL
	if !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") {
		target = "/"
	}
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// identityResponse is the get-identity JSON (Cloudflare's field names).
type identityResponse struct {
	Email          string              `json:"email"`
	Name           string              `json:"name,omitempty"`
	UserUUID       string              `json:"user_uuid"`
	ID             string              `json:"id"`
	IdP            any                 `json:"idp"`
	Geo            map[string]string   `json:"geo"`
	IP             string              `json:"ip,omitempty"`
	IAT            int64               `json:"iat"`
	AMR            []string            `json:"amr,omitempty"`
	Groups         any                 `json:"groups,omitempty"`
	SAMLAttributes map[string][]string `json:"saml_attributes,omitempty"`
	OIDCFields     map[string][]string `json:"oidc_fields,omitempty"`
	IdentityNonce  string              `json:"identity_nonce"`
	Version        int                 `json:"version"`
}

// serveGetIdentity returns the full identity of the session behind the cookie: the org cookie on
// the auth domain, the app cookie on an app host.
func (s *Service) serveGetIdentity(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App) {
	wantType, aud, appID := "org", snap.OrgAudience(), ""
	if app != nil {
		wantType, aud, appID = "app", app.AUD, app.ID
	}
	raw := cookieValue(r, snap.Profile.Cookie)
	if raw == "" && app != nil {
		raw = r.Header.Get(snap.Profile.JWTHeader)
	}
	os, err := s.Sessions.Verify(r.Context(), raw, session.Want{Type: wantType, Audience: aud, AppID: appID})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		status := http.StatusUnauthorized
		if !session.IsNoSession(err) {
			status = http.StatusServiceUnavailable
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"err":"no valid session"}`))
		return
	}
	id := os.Identity
	resp := identityResponse{
		Email: id.Email, Name: id.Name, UserUUID: id.UserID, ID: id.UserID, IdP: id.IdP,
		Geo: map[string]string{"country": os.Claims.Country}, IP: os.Session.IP, IAT: os.Claims.IssuedAt,
		AMR: id.AMR, SAMLAttributes: id.SAMLAttributes, OIDCFields: id.OIDCClaims, IdentityNonce: os.Session.ID, Version: 1,
	}
	if len(id.Groups) > 0 {
		resp.Groups = id.Groups
	}
	_ = json.NewEncoder(w).Encode(resp)
}

// serveLogout revokes the session behind the cookie (on every app: logout is global) and clears
// the cookie of the host visited.
func (s *Service) serveLogout(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App) error {
	raw := cookieValue(r, snap.Profile.Cookie)
	if raw != "" {
		if claims, err := s.Sessions.Tokens().Verify(raw); err == nil && claims.IdentityNonce != "" {
			if err := s.Store.RevokeSession(r.Context(), claims.IdentityNonce); err != nil && !errors.Is(err, store.ErrNotFound) {
				return httpx.Errorf(http.StatusServiceUnavailable, "store-unavailable", "Signing out failed because the session store is unavailable. Try again.", err)
			}
			c := httpx.ClientOf(r)
			ev := &store.AuthEvent{Action: "logout", Allowed: true, UserID: claims.Subject, Email: claims.Email, IP: c.IP.String(), Country: c.Country}
			if app != nil {
				ev.AppID = app.ID
			}
			s.Audit.Auth(r.Context(), ev)
			// This replica stops accepting the session at once; others on the next change notice.
			_ = s.Sessions.Revocations().Load(r.Context(), s.Store)
		}
	}
	setCookie(w, snap.Profile.Cookie, "", -1, http.SameSiteLaxMode, true, snap.Secure())
	web.Render(w, http.StatusOK, "message.html", &web.Page{Title: "Signed out", OrgName: snap.Org.Name,
		Message: "You have been signed out of every application."})
	return nil
}
