// Package saas owns Access for SaaS: Gatehouse as the SAML identity provider (package
// saas/samlidp) and the OpenID Connect provider (package saas/oidcop) of SaaS applications, so
// that every SaaS login passes Gatehouse's policies whatever IdP the user came from. This package
// holds what both protocol handlers get from the running Gatehouse.
package saas

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Env is what the SaaS protocol handlers get from the running Gatehouse.
type Env struct {
	Store store.Store
	// Keys signs assertions and tokens (RS256 / RSA-SHA256) and publishes the certificates and
	// JWKS; keys rotate with an overlap window.
	Keys *keys.Manager
	// SAMLKeys signs the SAML responses and assertions of SaaS apps and publishes their
	// certificates in the IdP metadata. A separate key set that rotates only by hand: service
	// providers usually pin the certificate they were given.
	SAMLKeys  *keys.Manager
	Snapshots *snapshot.Holder
	Audit     *audit.Recorder
	Log       *slog.Logger
	Now       func() time.Time

	// Authorize returns the logged-in user allowed into app. When the browser has no org
	// session, or none as recent as fresh asks (OIDC prompt=login and max_age, SAML ForceAuthn),
	// it starts a login that brings the browser back to returnPath (a path and query on the auth
	// domain, e.g. the SSO endpoint with the saved request) and returns handled=true; when the
	// app's policies deny the user it renders the block page, records the auth event and returns
	// handled=true. In both cases the caller writes nothing more.
	Authorize func(w http.ResponseWriter, r *http.Request, app *snapshot.App, returnPath string, fresh session.Freshness) (g *session.Grant, handled bool)

	// Recheck evaluates app's policies again for a user (OIDC refresh): it loads the user's
	// last-seen identity from the user registry, refuses inactive users, and evaluates with the
	// request's client IP and country. err is a store failure (fail closed); a denial is
	// returned as a Decision whose Action is not policy.ActionAllow.
	Recheck func(ctx context.Context, r *http.Request, app *snapshot.App, userID string) (*identity.Identity, policy.Decision, error)

	// Revocations is the replica's current revocation state, kept up to date as revocations
	// happen (session.Verifier's); checks that run on every request (MCP portal tokens) read it
	// instead of the store. Nil reads the store.
	Revocations *session.Revocations
}

// Handler serves the endpoints of one SaaS protocol for an application; rest is the path after
// <prefix>sso/<protocol>/<app id>/.
type Handler interface {
	ServeHTTP(w http.ResponseWriter, r *http.Request, app *snapshot.App, rest string)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, app *snapshot.App, rest string)

// ServeHTTP calls f.
func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request, app *snapshot.App, rest string) {
	f(w, r, app, rest)
}

// Endpoints routes <prefix>sso/<saml|oidc>/<app id>[/rest] on the auth domain to the protocol
// handler of the application's auth_type. Anything else under <prefix>sso/ is not found.
type Endpoints struct {
	Snapshots *snapshot.Holder
	// Handlers are the protocol handlers by auth_type (store.SaaSAuthSAML, store.SaaSAuthOIDC).
	Handlers map[string]Handler
	// MCP serves <prefix>sso/mcp/<portal id>/: the authorization servers of MCP portals
	// (applications of type mcp_portal); nil when there are none.
	MCP Handler
	Log *slog.Logger
}

// ServeHTTP serves a request whose path starts with <prefix>sso/.
func (e *Endpoints) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	snap := e.Snapshots.Load()
	path, _ := strings.CutPrefix(r.URL.Path, snap.Profile.Path("sso/"))
	proto, rest, _ := strings.Cut(path, "/")
	appID, rest, _ := strings.Cut(rest, "/")
	app := snap.Apps[appID]
	if proto == "mcp" && e.MCP != nil && app != nil && app.Type == store.AppMCPPortal {
		e.MCP.ServeHTTP(w, r, app, rest)
		return
	}
	h := e.Handlers[proto]
	if app == nil || app.Type != store.AppSaaS || app.SaaSApp == nil || app.SaaSApp.AuthType != proto || h == nil {
		web.RenderBrandedError(w, r, e.Log, web.BrandOf(&snap.Org), httpx.Errorf(http.StatusNotFound, "saas-app-unknown", "There is no such application.", nil))
		return
	}
	h.ServeHTTP(w, r, app, rest)
}

// PassiveOutcome is what a login step that may not interact with the user found (OIDC
// prompt=none, SAML IsPassive).
type PassiveOutcome int

// Passive outcomes.
const (
	PassiveGranted       PassiveOutcome = iota // a session qualifies and the policies allow the user
	PassiveLoginRequired                       // a login (or a fresh one) would be needed
	PassiveDenied                              // the app's policies deny the signed-in user
)

// AuthorizePassive runs Authorize without letting it talk to the browser: whatever page or
// redirect it would have answered with is discarded and reported as the outcome, for the
// protocol handler to turn into its own error (login_required, NoPassive).
func (e *Env) AuthorizePassive(r *http.Request, app *snapshot.App, returnPath string, fresh session.Freshness) (*session.Grant, PassiveOutcome) {
	d := &discardWriter{h: http.Header{}}
	g, handled := e.Authorize(d, r, app, returnPath, fresh)
	switch {
	case !handled:
		return g, PassiveGranted
	case d.status == http.StatusForbidden:
		return nil, PassiveDenied
	}
	return nil, PassiveLoginRequired
}

// discardWriter keeps the status of a response and drops the rest.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header { return d.h }

func (d *discardWriter) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return len(b), nil
}

func (d *discardWriter) WriteHeader(status int) {
	if d.status == 0 {
		d.status = status
	}
}
