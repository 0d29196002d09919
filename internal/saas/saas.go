// Package saas owns Access for SaaS: Gatehouse as the SAML identity provider (package
// saas/samlidp) and the OpenID Connect provider (package saas/oidcop) of SaaS applications, so
// that every SaaS login passes Gatehouse's policies whatever IdP the user came from. This package
// holds what both protocol handlers get from the running Gatehouse.
package saas

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Grant is a user allowed into a SaaS application: the identity of their login (with UserID set,
// the stable UUID), their org session, and the policy decision that allowed them.
type Grant struct {
	Identity  *identity.Identity
	SessionID string
	Decision  policy.Decision
}

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
	// session it starts a login that brings the browser back to returnPath (a path and query on
	// the auth domain, e.g. the SSO endpoint with the saved request) and returns handled=true;
	// when the app's policies deny the user it renders the block page, records the auth event
	// and returns handled=true. In both cases the caller writes nothing more.
	Authorize func(w http.ResponseWriter, r *http.Request, app *snapshot.App, returnPath string) (g *Grant, handled bool)

	// Client returns the request's client IP (the socket peer unless it is a trusted proxy) and
	// country, for auth events; nil means the connection's address.
	Client func(r *http.Request) (netip.Addr, string)

	// Recheck evaluates app's policies again for a user (OIDC refresh): it loads the user's
	// last-seen identity from the user registry, refuses inactive users, and evaluates with the
	// request's client IP and country. err is a store failure (fail closed); a denial is
	// returned as a Decision whose Action is not policy.ActionAllow.
	Recheck func(ctx context.Context, r *http.Request, app *snapshot.App, userID string) (*identity.Identity, policy.Decision, error)
}
