package oidc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/identity/oidc/oidctest"
	"github.com/gatehouse/gatehouse/internal/store"
)

const (
	testClientID    = oidctest.ClientID
	testSecret      = oidctest.ClientSecret
	testKID         = oidctest.KeyID
	testCallbackURL = "https://auth.example.com/cdn-cgi/access/callback"
)

// connectorFor returns a connector for the fake provider p; edit changes the raw config first.
func connectorFor(t testing.TB, p *oidctest.Provider, edit func(map[string]any)) *Connector {
	t.Helper()
	raw := map[string]any{
		"client_id":     testClientID,
		"client_secret": testSecret,
		"issuer":        p.Issuer,
		"claims":        []any{"department", "roles", "missing"},
	}
	if edit != nil {
		edit(raw)
	}
	c, err := New(store.IdentityProvider{ID: "corp-oidc", Type: "oidc", Config: raw}, envFor(p))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func envFor(p *oidctest.Provider) identity.Env {
	return identity.Env{ID: "corp-oidc", HTTPClient: p.Client(), Now: p.Clock.Now}
}

// login runs a whole login through c against p; editCallback may change the callback query.
func login(t testing.TB, p *oidctest.Provider, c *Connector, editCallback func(url.Values)) (*identity.Identity, error) {
	t.Helper()
	ctx := context.Background()
	req := identity.LoginRequest{State: randomToken(), CallbackURL: testCallbackURL}
	start, err := c.StartLogin(ctx, req)
	if err != nil {
		t.Fatalf("StartLogin: %v", err)
	}
	cb := p.Authorize(t, start.RedirectURL)
	if editCallback != nil {
		editCallback(cb)
	}
	r := httptest.NewRequest(http.MethodGet, testCallbackURL+"?"+cb.Encode(), nil)
	return c.HandleCallback(ctx, r, req, start.FlowData)
}

func storeIdP(id string) store.IdentityProvider { return store.IdentityProvider{ID: id, Type: "oidc"} }
