package authn

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
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
		case wire.EndpointBind:
			return s.serveBind(w, r, snap, host)
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
	nonce := cookieValue(r, snap.AppFlowCookie())
	if nonce == "" || hashValue("app-nonce", nonce) != hc.BrowserBinding {
		// Another browser's code (login CSRF, or a code URL that leaked), or a second tab
		// overwrote the nonce: the code is spent and dead, the event recorded, and this browser
		// starts a login of its own.
		c := httpx.ClientOf(r)
		s.Audit.Auth(r.Context(), &store.AuthEvent{Action: "login", Allowed: false, AppID: app.ID, AppDomain: host,
			IP: c.IP.String(), Country: c.Country, Reasons: []string{"handoff-foreign-browser"}})
		s.StartAppLogin(w, r, snap, app, host, hc.RedirectURL, nil)
		return nil
	}
	claims, err := s.Sessions.Tokens().Verify(hc.Token)
	if err != nil {
		return httpx.Errorf(http.StatusBadRequest, "handoff-token-invalid", "This sign-in link has expired. Open the application again.", err)
	}
	now := s.now()
	setCookie(w, now, snap.AppFlowCookie(), "", -1, http.SameSiteLaxMode, true, snap.Secure())
	setCookie(w, now, snap.AppCookie(), hc.Token, time.Unix(claims.ExpiresAt, 0).Sub(now), app.SameSite, app.HTTPOnly, snap.Secure())
	web.SetSecurityHeaders(w.Header())
	target := hc.RedirectURL
	if !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") {
		target = "/"
	}
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// serveBind is the app-host half of binding a login to one browser. The auth domain created the
// flow bound to its own cookie on this browser and sent it here; the flow is continued only if
// this browser also holds the nonce the app host set when it sent the browser away (the flow's
// state). Then a one-time proof goes back to the auth domain, which checks it together with its
// own cookie: a hand-off code is only ever minted for the nonce of the browser that will carry it.
// A browser without the nonce (a login link sent by someone else) starts a login of its own and
// leaves the flow to its owner.
func (s *Service) serveBind(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, host string) error {
	expired := httpx.Errorf(http.StatusBadRequest, "flow-invalid", "This sign-in attempt has expired. Open the application again to sign in.", nil)
	id := r.URL.Query().Get("flow")
	if len(id) < 8 || len(id) > 64 {
		return expired
	}
	f, err := s.Store.GetLoginFlow(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return expired
	case err != nil:
		return errUnavailable(err)
	}
	app := snap.Apps[f.AppID]
	if app == nil || f.Data[flowHost] != host || f.Data[flowState] == "" {
		expired.Reason = "flow-wrong-host"
		return expired
	}
	nonce := cookieValue(r, snap.AppFlowCookie())
	if f.Data[flowBound] == "1" || f.Data[flowProof] != "" || nonce == "" ||
		subtle.ConstantTimeCompare([]byte(hashValue("app-nonce", nonce)), []byte(f.Data[flowState])) != 1 {
		c := httpx.ClientOf(r)
		s.Audit.Auth(r.Context(), &store.AuthEvent{Action: "login", Allowed: false, AppID: app.ID, AppDomain: host,
			IP: c.IP.String(), Country: c.Country, Reasons: []string{"flow-foreign-browser"}})
		s.StartAppLogin(w, r, snap, app, host, f.RedirectURL, nil)
		return nil
	}
	proof := randomToken(32)
	f.Data[flowProof] = hashValue("bind-proof", proof)
	if err := s.replaceFlow(r.Context(), f); err != nil {
		return err
	}
	web.SetSecurityHeaders(w.Header())
	http.Redirect(w, r, snap.Issuer+snap.Profile.Path(endpointBound)+"?"+url.Values{"flow": {f.ID}, "proof": {proof}}.Encode(), http.StatusFound)
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
	raw := cookieValue(r, sessionCookieName(snap, app))
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
// the cookie of the host visited. The Cloudflare-compatible URL answers GET, but only a request
// from the same site (Sec-Fetch-Site) signs out at once: any other GET or HEAD — a cross-site link,
// an image, a browser that does not say — gets a confirmation page whose button POSTs a token
// derived from the session cookie, so no other site can end a user's sessions.
func (s *Service) serveLogout(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, app *snapshot.App) error {
	cookieName := sessionCookieName(snap, app)
	raw := cookieValue(r, cookieName)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if raw != "" && !sameSite(r) {
			s.renderLogoutConfirm(w, r, snap, raw)
			return nil
		}
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			return httpx.Errorf(http.StatusBadRequest, "bad-form", "The form could not be read.", err)
		}
		if raw != "" && subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(logoutToken(raw))) != 1 {
			s.renderLogoutConfirm(w, r, snap, raw)
			return nil
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		return httpx.Errorf(http.StatusMethodNotAllowed, "method-not-allowed", "This page only supports GET and POST.", nil)
	}
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
	setCookie(w, s.now(), cookieName, "", -1, http.SameSiteLaxMode, true, snap.Secure())
	msg, links := signedOutLinks(snap, app)
	web.Render(w, http.StatusOK, "message.html", &web.Page{Title: "Signed out", Brand: web.BrandOf(&snap.Org),
		Message: msg, Links: links})
	return nil
}

// signedOutLinks are the signed-out page's text and ways on: "Sign in again" to the application
// signed out of (or to the App Launcher when signing out on the auth domain) and the App
// Launcher, when the organization has one.
func signedOutLinks(snap *snapshot.Snapshot, app *snapshot.App) (string, []web.Link) {
	msg := "You have been signed out of every application."
	launcherURL := ""
	if hasLauncher(snap) {
		launcherURL = snap.Issuer + "/"
	}
	var links []web.Link
	switch home := snap.AppURL(app); {
	case home != "":
		links = append(links, web.Link{URL: home, Text: "Sign in again"})
		if launcherURL != "" && app.Type != store.AppAppLauncher {
			links = append(links, web.Link{URL: launcherURL, Text: "App Launcher"})
		}
	case launcherURL != "":
		links = append(links, web.Link{URL: launcherURL, Text: "Sign in again"})
		msg += " Sign in again to see your applications in the App Launcher."
	default:
		msg += " To sign in again, open an application."
	}
	return msg, links
}

// hasLauncher reports whether the organization has an App Launcher.
func hasLauncher(snap *snapshot.Snapshot) bool {
	for _, a := range snap.Ordered() {
		if a.Type == store.AppAppLauncher {
			return true
		}
	}
	return false
}

// launcherLinks is the App Launcher link of pages that offer a way on ("" without a launcher,
// or when app is the launcher itself).
func launcherLinks(snap *snapshot.Snapshot, app *snapshot.App) []web.Link {
	if !hasLauncher(snap) || (app != nil && app.Type == store.AppAppLauncher) {
		return nil
	}
	return []web.Link{{URL: snap.Issuer + "/", Text: "App Launcher"}}
}

// sameSite reports whether a browser says the request comes from the same site (Fetch
// Metadata). A request without the header is not believed to be same-site.
func sameSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "same-site":
		return true
	}
	return false
}

// logoutToken is the confirmation token of a logout: bound to the session cookie, so only a page
// that could read the cookie's value — Gatehouse's own — can know it.
func logoutToken(sessionCookie string) string { return hashValue("logout", sessionCookie) }

// renderLogoutConfirm asks the user to confirm signing out.
func (s *Service) renderLogoutConfirm(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, sessionCookie string) {
	web.Render(w, http.StatusOK, "confirm.html", &web.Page{Title: "Sign out?", Brand: web.BrandOf(&snap.Org),
		Message: "Sign out of every application protected by " + orgOrGatehouse(snap) + "?",
		Data:    map[string]string{"Action": snap.Profile.Path(wire.EndpointLogout), "CSRF": logoutToken(sessionCookie), "Button": "Sign out"}})
}

func orgOrGatehouse(snap *snapshot.Snapshot) string {
	if snap.Org.Name != "" {
		return snap.Org.Name
	}
	return "Gatehouse"
}

// sessionCookieName is the session cookie of the host being served: the app cookie on an app
// host (app set), the org cookie on the auth domain.
func sessionCookieName(snap *snapshot.Snapshot, app *snapshot.App) string {
	if app != nil {
		return snap.AppCookie()
	}
	return snap.OrgCookie()
}
